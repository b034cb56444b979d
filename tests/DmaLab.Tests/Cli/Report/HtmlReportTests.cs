using System.Text.RegularExpressions;
using DmaLab.Analysis;
using DmaLab.Cli.Report;
using DmaLab.Platform;
using DmaLab.Replay;
using DmaLab.Tests.Trace;
using DmaLab.Workloads;

namespace DmaLab.Tests.Cli.Report;

/// <summary>report.html and replay.html: summary first, a table of contents that points at real sections, charts
/// with axis titles, expected probe faults apart from findings, no 0x0 addresses, and small pages on huge inputs.</summary>
public class HtmlReportTests
{
    static RunReport Run(params string[] workloads)
    {
        var spec = PlatformLoader.LoadBuiltIn("arm64-ref");
        var r = new RunReport { Platform = spec.Name, PlatformSource = spec.Source, Seed = 1 };
        r.Devices.AddRange(Machine.Boot(spec, new MachineOptions { Seed = 1 }).Setup);
        r.Workloads.AddRange(WorkloadCatalog.RunAll(spec, 1, workloads));
        return r;
    }

    static void AssertPageShape(string html)
    {
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotMatch(new Regex("(src|href)=\"(https?:)?//"), html);
        int summary = html.IndexOf("id=\"summary\"", StringComparison.Ordinal), toc = html.IndexOf("id=\"contents\"", StringComparison.Ordinal);
        Assert.True(summary > 0 && toc > summary, "summary before the table of contents");
        // every ToC link has its target, after the ToC
        var links = Regex.Matches(html, "<li><a href=\"#(s\\d+)\">").Select(m => m.Groups[1].Value).ToList();
        Assert.NotEmpty(links);
        foreach (var id in links) Assert.True(html.IndexOf($"id=\"{id}\"", StringComparison.Ordinal) > toc, id);
        Assert.DoesNotContain(">0x0<", html);
        // every chart is one SVG with a title and two axis titles
        Assert.All(Regex.Matches(html, "<svg.*?</svg>", RegexOptions.Singleline).Select(m => m.Value),
            svg => Assert.True(Regex.Matches(svg, "font-size=\"1[35]").Count >= 3, "title and axis titles"));
    }

    [Fact]
    public void Run_report_has_a_summary_policies_side_by_side_and_expected_probe_faults_apart()
    {
        var r = Run("drm-composite", "nvme-queue", "camera-noncoherent");
        string html = HtmlReport.Render(r);
        AssertPageShape(html);
        Assert.Contains("<h3>Policies side by side</h3>", html);
        // strict invalidates on every unmap, lazy batches: the cell differs and is highlighted
        Assert.Matches(new Regex("<td>nvme-queue</td><td>iotlb-invalidations</td><td class=\"n\">[\\d,]+</td><td class=\"n diff\">"), html);
        // the isolation probes fault on purpose: expected, not findings
        Assert.Equal(0, r.Workloads.Where(w => w.Name == "drm-composite").Sum(w => w.Findings.Count(f => f.Kind == "iommu-fault")));
        int expected = r.Workloads.Sum(w => w.Expected.Count);
        Assert.True(expected > 0);
        Assert.Contains($"(and {expected} expected isolation-probe faults, not counted)", html);
        Assert.Contains("<tr class=\"expected\"><td>iommu-fault</td><td>expected</td>", html);
        Assert.Contains("<tr class=\"error\"><td>stale-cpu-read</td><td>error</td>", html);
        Assert.Matches(new Regex("<li><a href=\"#s\\d+\">drm-composite</a></li>"), html);
        Assert.InRange(html.Length, 10_000, 400_000);
    }

    [Fact]
    public void Run_report_draws_the_free_block_orders_as_bars_with_axis_titles()
    {
        string html = HtmlReport.Render(Run("zone-pressure"));
        AssertPageShape(html);
        Assert.Contains("free blocks (count)", html);
        Assert.Contains("order (block of 2^order pages)", html);
        Assert.Contains("<td>fragmentation-failure</td><td>info</td><td></td><td>—</td>", html);
    }

    [Fact]
    public void Replay_page_of_a_sample_has_summary_contents_and_charts_on_one_time_axis()
    {
        using var s = File.OpenRead(TraceSamples.PathOf(TraceSamples.VtdStrict));
        var r = ReplayRunner.Run(s, TraceSamples.VtdStrict, new ReplayRunOptions());
        string html = ReplayHtml.Render(r);
        AssertPageShape(html);
        Assert.Contains("<h3>DMA ops per device</h3>", html);
        Assert.Contains("<h3>Findings by kind</h3>", html);
        Assert.Contains("live mappings (count)", html);
        Assert.Contains("live mapped bytes (MiB)", html);
        Assert.Contains("mapping size (bytes, power-of-two bins: up to)", html);
        Assert.Contains("mappings (count, log scale)", html);
        Assert.Contains("maps (count)", html);
        // both live charts: every device on one chart, one shared time axis
        Assert.Equal(2, Regex.Matches(html, "time since the first event \\(s\\)").Count);
        foreach (var d in r.Devices.Where(d => d.LiveSeries.Count > 0)) Assert.Contains(d.Name, html);
        Assert.Contains("<a href=\"#", html);
        Assert.InRange(html.Length, 20_000, 1_000_000);
        // the NICs' rx rings alive when tracing stopped are informational here as in the terminal, not warnings
        Assert.Contains(r.Findings, f => f.Kind == "live-at-end");
        Assert.Contains("<td>live-at-end</td><td>info</td>", html);
        Assert.DoesNotContain("<td>live-at-end</td><td>warning</td>", html);
    }

    [Fact]
    public void Replay_page_of_a_huge_trace_stays_small_and_says_what_it_left_out()
    {
        var r = new ReplayReport { Input = "huge.trace", FirstTimestampNs = 0, LastTimestampNs = 10_000_000_000 };
        var dev = new ReplayOwnerReport
        {
            Name = "0000:00:04.0", Maps = 1_000_000, DmaOps = "iommu-dma", PeakLiveMappings = 16,
            LiveSeries = Enumerable.Range(0, 200_000).Select(i => new LiveSample((ulong)i * 50_000, i % 1000 == 0 ? 16 : 1, 4096)).ToList(),
            SizeHistogram = [new SizeBucket(4096, 900_000), new SizeBucket(1 << 20, 3)],
        };
        r.Devices.Add(dev);
        for (int i = 0; i < 10_000; i++)
            r.Phases.Add(new ReplayPhase { Name = $"PHASE <b>&{i}", Line = i * 10 + 1, StartNs = (ulong)i * 1_000_000, EndNs = (ulong)i * 1_000_000 + 999_999, Maps = i % 100 });
        for (int i = 0; i < 5_000; i++) r.Findings.Add(new Finding("unmap-of-unmapped", dev.Name, 0, "x", i + 1));
        r.FindingCounts["unmap-of-unmapped"] = 229_760;
        r.Processes.AddRange(Enumerable.Range(0, 500).Select(i => new ReplayOwnerReport { Name = $"task{i}", Pid = i, Maps = i }));
        string html = ReplayHtml.Render(r);
        AssertPageShape(html);
        Assert.DoesNotContain("<b>", html.Replace("<b>DmaLab", "", StringComparison.Ordinal));
        Assert.Contains("showing the top by maps: 50 of 10,000", html);
        Assert.Contains("the other 9,980 phases", html);
        Assert.Contains("showing the first 100 of 229,760", html);
        Assert.Contains("showing the top by maps: 50 of 500", html);
        Assert.Contains("<td>unmap-of-unmapped</td><td>error</td><td class=\"n\">229,760</td>", html);
        Assert.InRange(html.Length, 50_000, 2_000_000);
        // the one-sample peaks of 16 survive thinning 200,000 samples to the chart's width
        var live = Regex.Match(html, "<svg.*?</svg>", RegexOptions.Singleline).Value;
        Assert.Contains(">16<", live.Replace("\n", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal));
    }

    [Fact]
    public void Min_max_downsampling_keeps_extremes_and_bounds_the_points()
    {
        var xs = Enumerable.Range(0, 100_000).Select(i => (double)i).ToArray();
        var ys = xs.Select(x => x == 51_234 ? 99.0 : x == 7_777 ? -5.0 : 1.0).ToArray();
        var d = MinMaxDownsampler.Downsample(new StepSeries("s", xs, ys), 800, 0, 100_000);
        Assert.InRange(d.Count, 700, 800);
        Assert.Equal(99, Enumerable.Range(0, d.Count).Max(d.MaxAt));
        Assert.Equal(-5, Enumerable.Range(0, d.Count).Min(d.MinAt));
        Assert.Equal(1, d.Y[^1]);
        Assert.Equal(99_999, d.X[^1]);
    }
}
