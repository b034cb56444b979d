namespace DmaLab.Cli.Report;

/// <summary>
/// A count over time for a step chart: at each <see cref="X"/> the value became <see cref="Y"/>; where the source
/// was already thinned, <see cref="Min"/> and <see cref="Max"/> are the extremes reached since the previous point
/// (null: none were dropped, the extremes are the values themselves).
/// </summary>
public sealed record StepSeries(string Name, double[] X, double[] Y, double[]? Min = null, double[]? Max = null)
{
    public int Count => X.Length;
    public double MinAt(int i) => Min is null ? Y[i] : Math.Min(Min[i], Y[i]);
    public double MaxAt(int i) => Max is null ? Y[i] : Math.Max(Max[i], Y[i]);
}
