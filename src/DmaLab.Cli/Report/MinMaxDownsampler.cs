namespace DmaLab.Cli.Report;

/// <summary>
/// Thins a step series to at most a given number of x buckets without losing its peaks or troughs: each bucket keeps
/// the last value it ended on and the minimum and maximum reached inside it (a chart draws the extremes as a vertical
/// stroke at the bucket's end, so a 1-sample spike to 16 still reaches 16 on the y axis).
/// </summary>
public static class MinMaxDownsampler
{
    public static StepSeries Downsample(StepSeries s, int buckets, double x0, double x1)
    {
        ArgumentNullException.ThrowIfNull(s);
        if (s.Count <= buckets * 2 || buckets < 1 || !(x1 > x0)) return s;
        var xs = new List<double>(buckets);
        var ys = new List<double>(buckets);
        var mins = new List<double>(buckets);
        var maxs = new List<double>(buckets);
        double width = (x1 - x0) / buckets;
        int i = 0;
        while (i < s.Count)
        {
            long b = Math.Clamp((long)((s.X[i] - x0) / width), 0, buckets - 1);
            double lo = s.MinAt(i), hi = s.MaxAt(i), last = s.Y[i], lastX = s.X[i];
            for (i++; i < s.Count && Math.Clamp((long)((s.X[i] - x0) / width), 0, buckets - 1) == b; i++)
            {
                lo = Math.Min(lo, s.MinAt(i));
                hi = Math.Max(hi, s.MaxAt(i));
                last = s.Y[i];
                lastX = s.X[i];
            }
            xs.Add(lastX);
            ys.Add(last);
            mins.Add(lo);
            maxs.Add(hi);
        }
        return new StepSeries(s.Name, [.. xs], [.. ys], [.. mins], [.. maxs]);
    }
}
