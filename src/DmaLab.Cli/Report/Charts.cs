using System.Globalization;
using ScottPlot;

namespace DmaLab.Cli.Report;

/// <summary>
/// The reports' charts, drawn by ScottPlot 5 into inline SVG (Skia measures the text; no display, no scripts): step
/// lines for counts over time, horizontal bars for ranked categories, and size histograms over power-of-two bins
/// with a log count axis. Every chart has a title and axis titles with units.
/// </summary>
public static class Charts
{
    public const int Width = 960;
    const string Font = "DejaVu Sans";
    static readonly Color[] Palette =
    [
        Color.FromHex("#1f77b4"), Color.FromHex("#d62728"), Color.FromHex("#2ca02c"), Color.FromHex("#9467bd"),
        Color.FromHex("#ff7f0e"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#17becf"),
    ];

    /// <summary>Counts over time as step lines on one shared x axis [<paramref name="x0"/>, <paramref name="x1"/>]
    /// (min/max-preserving thinning to the plot's width).</summary>
    public static string StepLines(string title, string xLabel, string yLabel, IReadOnlyList<StepSeries> series, double x0, double x1, int height = 320)
    {
        var plt = NewPlot(title, xLabel, yLabel);
        if (!(x1 > x0)) x1 = x0 + 1;
        double yMax = 0;
        for (int k = 0; k < series.Count; k++)
        {
            var s = MinMaxDownsampler.Downsample(series[k], Width - 120, x0, x1);
            var (xs, ys) = StepPath(s, x1);
            if (xs.Length == 0) continue;
            var line = plt.Add.ScatterLine(xs, ys);
            line.LegendText = s.Name;
            line.LineWidth = 1.5f;
            line.Color = Palette[k % Palette.Length];
            for (int i = 0; i < s.Count; i++) yMax = Math.Max(yMax, s.MaxAt(i));
        }
        plt.Axes.SetLimits(x0, x1, 0, Math.Max(1, yMax * 1.08));
        if (series.Count > 1) plt.ShowLegend(Edge.Right);
        return Svg(plt, height);
    }

    /// <summary>Horizontal bars, largest first from the top (labels are the categories).</summary>
    public static string HorizontalBars(string title, string xLabel, string yLabel, IReadOnlyList<(string Label, double Value)> bars)
    {
        var plt = NewPlot(title, xLabel, yLabel);
        int n = bars.Count;
        var list = new List<Bar>(n);
        var pos = new double[n];
        var labels = new string[n];
        for (int i = 0; i < n; i++)
        {
            pos[i] = n - 1 - i;
            labels[i] = Shorten(bars[i].Label, 44);
            list.Add(new Bar { Position = pos[i], Value = bars[i].Value, FillColor = Palette[0], LineWidth = 0, Size = 0.7 });
        }
        var bp = plt.Add.Bars(list);
        bp.Horizontal = true;
        plt.Axes.Left.SetTicks(pos, labels);
        plt.Axes.Left.MajorTickStyle.Length = 0;
        plt.Axes.Margins(left: 0, right: 0.05, bottom: 0.02, top: 0.02);
        plt.Axes.SetLimitsX(0, Math.Max(1, bars.Count == 0 ? 1 : bars.Max(b => b.Value)) * 1.05);
        return Svg(plt, Math.Max(160, 60 + 22 * n));
    }

    /// <summary>Counts per power-of-two size bin (bin k holds sizes in (2^(k-1), 2^k]), one bar group per bin and one
    /// colour per series, on a log count axis.</summary>
    public static string SizeHistogram(string title, string xLabel, IReadOnlyList<(string Name, IReadOnlyList<(int Bin, long Count)> Bins)> series)
    {
        var plt = NewPlot(title, xLabel, "mappings (count, log scale)");
        int lo = int.MaxValue, hi = int.MinValue;
        long maxCount = 1;
        foreach (var (_, bins) in series)
            foreach (var (b, c) in bins)
                if (c > 0) { lo = Math.Min(lo, b); hi = Math.Max(hi, b); maxCount = Math.Max(maxCount, c); }
        if (lo > hi) { lo = 12; hi = 12; }
        int groups = Math.Max(1, series.Count);
        double w = 0.8 / groups;
        const double Floor = -0.35; // log10 of the bar base: a single mapping still shows a bar
        var list = new List<Bar>();
        for (int k = 0; k < series.Count; k++)
            foreach (var (b, c) in series[k].Bins)
                if (c > 0)
                    list.Add(new Bar
                    {
                        Position = b - 0.4 + w * (k + 0.5), Value = Math.Log10(c), ValueBase = Floor, Size = w * 0.95,
                        FillColor = Palette[k % Palette.Length], LineWidth = 0,
                    });
        plt.Add.Bars(list);
        var ticks = new List<double>();
        var labels = new List<string>();
        // More bins than labels fit across the chart: every other bin is labelled (its tick and grid line stay).
        int every = hi - lo + 1 > 12 ? 2 : 1;
        for (int b = lo; b <= hi; b++)
        {
            ticks.Add(b);
            labels.Add((hi - b) % every != 0 ? "" : b >= 64 ? "> 8 EiB" : Units.Bytes(1UL << b));
        }
        plt.Axes.Bottom.SetTicks([.. ticks], [.. labels]);
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("N0", CultureInfo.InvariantCulture),
        };
        plt.Axes.SetLimits(lo - 0.6, hi + 0.6, Floor, Math.Log10(maxCount) + 0.3);
        for (int k = 0; k < series.Count && series.Count > 1; k++)
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = series[k].Name, FillColor = Palette[k % Palette.Length] });
        if (series.Count > 1) plt.ShowLegend(Edge.Right);
        return Svg(plt, 300);
    }

    /// <summary>Vertical step path: for each point, up or down from the previous value through the extremes since
    /// then, ending on the point's value; the last value runs on to <paramref name="xEnd"/>.</summary>
    static (double[] X, double[] Y) StepPath(StepSeries s, double xEnd)
    {
        if (s.Count == 0) return ([], []);
        var xs = new List<double>(s.Count * 4 + 1);
        var ys = new List<double>(s.Count * 4 + 1);
        double prev = s.Y[0];
        for (int i = 0; i < s.Count; i++)
        {
            xs.Add(s.X[i]); ys.Add(prev);
            double lo = s.MinAt(i), hi = s.MaxAt(i);
            if (hi != prev) { xs.Add(s.X[i]); ys.Add(hi); }
            if (lo != hi) { xs.Add(s.X[i]); ys.Add(lo); }
            if (s.Y[i] != lo) { xs.Add(s.X[i]); ys.Add(s.Y[i]); }
            prev = s.Y[i];
        }
        if (xEnd > s.X[^1]) { xs.Add(xEnd); ys.Add(prev); }
        return ([.. xs], [.. ys]);
    }

    static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plt = new Plot();
        plt.Font.Set(Font);
        plt.Title(title, size: 15);
        plt.XLabel(xLabel, size: 13);
        plt.YLabel(yLabel, size: 13);
        return plt;
    }

    static string Svg(Plot plt, int height)
    {
        string svg = plt.GetSvgXml(Width, height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal);
        return (start > 0 ? svg[start..] : svg).Replace("\t", "", StringComparison.Ordinal) + "\n";
    }

    static string Shorten(string s, int max) => s.Length <= max ? s : s[..(max - 1)] + "…";
}
