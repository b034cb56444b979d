using System.Text;
using DmaLab.Analysis;
using DmaLab.Workloads;

namespace DmaLab.Cli.Report;

/// <summary>
/// report.html of `dmalab run`: a summary (platform, per-device DMA ops, findings by kind and severity, the policies
/// side by side with the differences highlighted, other variants side by side), a table of contents, then one section
/// per workload with its metrics per variant, charts, findings (expected probe faults apart) and notes.
/// </summary>
public static class HtmlReport
{
    const int FindingRows = 40;

    /// <summary>The figures compared across policies and variants in the summary (all metrics are in the details).</summary>
    static readonly string[] KeyMetrics =
    [
        "throughput", "iotlb-misses", "iotlb-invalidations", "page-walks", "stale-window-max", "exposure-outside-peak", "bounce-bytes",
        "switch-time-avg", "frames-with-stale-data", "vmalloc-saved", "iotlb-entries", "block-mappings",
    ];

    public static string Render(RunReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var page = new Html($"DmaLab report — {r.Platform}");
        var groups = r.Workloads.GroupBy(w => w.Name).Select(g => g.ToList()).ToList();
        int expected = r.Workloads.Sum(w => w.Expected.Count);

        var sum = new StringBuilder();
        sum.Append(Html.Facts([
            ("Platform", $"{r.Platform} ({r.PlatformSource})"),
            ("Seed", r.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Workload runs", $"{r.Workloads.Count} ({groups.Count} workloads)"),
            ("Findings", $"{Html.N(r.FindingCount)}" + (expected > 0 ? $" (and {Html.N(expected)} expected isolation-probe faults, not counted)" : "")),
        ]));
        if (r.Devices.Count > 0)
        {
            var dev = new HtmlTable("Device", "dma_map_ops", "Domain", "Group");
            foreach (var d in r.Devices) dev.Add(d.Device, d.Ops, d.Domain, d.Group);
            sum.Append("<h3>DMA ops per device</h3>\n").Append(dev.Render());
        }
        sum.Append("<h3>Findings by kind</h3>\n").Append(FindingSummary.Render(FindingKinds(r)));
        var policyGroups = groups.Where(g => g.Count > 1 && g.All(w => WorkloadPolicy.Default.Contains(PolicyOf(w)))).ToList();
        if (policyGroups.Count > 0)
            sum.Append("<h3>Policies side by side</h3>\n")
               .Append(Html.P("Each cell is one run on a freshly booted machine; highlighted: differs from the first column.", "note"))
               .Append(SideBySide(policyGroups, [.. WorkloadPolicy.Default], w => PolicyOf(w), KeyMetrics));
        var variantGroups = groups.Where(g => g.Count > 1 && !policyGroups.Contains(g)).ToList();
        foreach (var g in variantGroups)
            sum.Append("<h3>").Append(Html.E(g[0].Name)).Append(": variants side by side</h3>\n")
               .Append(SideBySide([g], g.Select(w => w.Variant).ToArray(), w => w.Variant, KeyMetrics));
        foreach (var n in r.Notes) sum.Append(Html.P(n, "note"));
        page.Summary(sum.ToString());

        if (r.Devices.Count > 0)
        {
            var dev = new HtmlTable("Device", "dma_map_ops", "Domain", "Group", "Why");
            foreach (var d in r.Devices) dev.Add(d.Device, d.Ops, d.Domain, d.Group, d.Reason);
            page.Section("Devices and their DMA setup", dev.Render());
        }
        foreach (var g in groups) page.Section(g[0].Name, Workload(g));
        return page.Render();
    }

    /// <summary>HTML-escapes text (the other report writers use it).</summary>
    public static string E(string s) => Html.E(s);

    static string PolicyOf(WorkloadResult w) => w.Variant.Split('/')[0];

    static IEnumerable<FindingSummary.KindCount> FindingKinds(RunReport r)
    {
        foreach (bool exp in new[] { false, true })
            foreach (var k in r.Workloads.SelectMany(w => (exp ? w.Expected : w.Findings).Select(f => (f.Kind, Where: Label(w)))).GroupBy(x => x.Kind))
                yield return new FindingSummary.KindCount(k.Key, k.Count(), k.Select(x => x.Where).Distinct().ToList(), exp);
    }

    static string Label(WorkloadResult w) => w.Variant.Length == 0 ? w.Name : $"{w.Name} ({w.Variant})";

    /// <summary>One table: a row per (workload, metric), a column per variant; a cell that differs from the row's
    /// first value is highlighted.</summary>
    static string SideBySide(IReadOnlyList<List<WorkloadResult>> groups, string[] columns, Func<WorkloadResult, string> column, IReadOnlyCollection<string>? only)
    {
        var t = new HtmlTable(["Workload", "Metric", .. columns]).Numeric([.. Enumerable.Range(2, columns.Length)]);
        foreach (var g in groups)
        {
            var byCol = columns.Select(c => g.FirstOrDefault(w => column(w) == c)).ToArray();
            var names = g.SelectMany(w => w.Metrics.Select(m => m.Name)).Distinct().Where(n => only is null || only.Contains(n)).ToList();
            if (only is not null) names = only.Where(names.Contains).ToList();
            foreach (var name in names)
            {
                var values = byCol.Select(w => w?.Metrics.FirstOrDefault(m => m.Name == name)).ToArray();
                var first = values.FirstOrDefault(v => v is not null);
                var cells = new List<HtmlCell> { g[0].Name, name };
                foreach (var v in values)
                    cells.Add(v is null ? new HtmlCell("—")
                        : new HtmlCell(Html.Metric(v.Value, v.Unit), first is not null && v != first && !Same(v.Value, first.Value) ? "diff" : null));
                t.Add([.. cells]);
            }
        }
        return t.Render();
    }

    static bool Same(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Max(Math.Abs(a), Math.Abs(b)));

    static string Workload(List<WorkloadResult> g)
    {
        var sb = new StringBuilder(Html.P(g[0].Description));
        if (g.Count > 1) sb.Append(SideBySide([g], g.Select(w => w.Variant).ToArray(), w => w.Variant, null));
        else if (g[0].Metrics.Count > 0)
        {
            var t = new HtmlTable("Metric", "Value", "Unit").Numeric(1);
            foreach (var m in g[0].Metrics) t.Add(m.Name, Html.N(m.Value), m.Unit);
            sb.Append(t.Render());
        }
        foreach (var w in g)
        {
            string label = g.Count > 1 ? $" ({w.Variant})" : "";
            foreach (var (name, points) in w.Series) sb.Append(SeriesChart(name + label, points));
            if (w.Findings.Count > 0)
            {
                var t = new HtmlTable("Kind", "Severity", "Device", "Address", "Message") { Limit = FindingRows, RestIn = "report.json" };
                foreach (var f in w.Findings)
                {
                    string sev = FindingSeverities.Name(FindingSeverities.Of(f.Kind));
                    t.AddRow(sev, f.Kind, sev, f.Device, FindingSummary.Address(f.Address), f.Message);
                }
                sb.Append("<h3>Findings").Append(Html.E(label)).Append("</h3>\n").Append(t.Render());
            }
            if (w.Expected.Count > 0)
            {
                var t = new HtmlTable("Kind", "", "Device", "Address", "Message") { Limit = FindingRows, RestIn = "report.json" };
                foreach (var f in w.Expected) t.AddRow("expected", f.Kind, "expected", f.Device, FindingSummary.Address(f.Address), f.Message);
                sb.Append("<h3>Expected").Append(Html.E(label)).Append(": provoked on purpose, not findings</h3>\n").Append(t.Render());
            }
            foreach (var n in w.Notes) sb.Append(Html.P((g.Count > 1 ? w.Variant + ": " : "") + n, "note"));
        }
        return sb.ToString();
    }

    /// <summary>A workload series: discrete integer x (orders, indices) as bars, anything else as a step line.</summary>
    static string SeriesChart(string name, List<(double X, double Y)> points)
    {
        bool discrete = points.Count <= 32 && points.All(p => p.X == Math.Round(p.X));
        if (discrete)
        {
            bool orders = name.Contains("order", StringComparison.Ordinal);
            return Charts.HorizontalBars(name.Replace('-', ' '), orders ? "free blocks (count)" : "count", orders ? "order (block of 2^order pages)" : "x",
                points.Select(p => (orders ? $"order {p.X}" : Html.N(p.X), p.Y)).ToList());
        }
        var s = new StepSeries(name, points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
        return Charts.StepLines(name, "x", "value", [s], points.Min(p => p.X), points.Max(p => p.X));
    }
}
