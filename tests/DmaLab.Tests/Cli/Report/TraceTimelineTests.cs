using System.Text.Json;
using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Cli.Report;

public class TraceTimelineTests
{
    [Fact]
    public void Perfetto_timeline_has_a_track_per_device_and_non_overlapping_lanes()
    {
        var ms = new MemoryStream();
        ReplayReport report;
        using (var timeline = new TraceEventJsonTimelineWriter(ms))
        {
            using var reader = TraceSamples.Open(TraceSamples.VtdStrict);
            report = TraceReplayer.Replay(reader, new ReplayOptions { Observer = timeline });
        }
        using var doc = JsonDocument.Parse(ms.ToArray());
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().ToList();
        var names = events.Where(e => e.GetProperty("ph").GetString() == "M" && e.GetProperty("name").GetString() == "process_name")
            .Select(e => e.GetProperty("args").GetProperty("name").GetString()).ToList();
        Assert.Contains("markers", names);
        foreach (var d in report.Devices) Assert.Contains(d.Name, names);

        var slices = events.Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        long maps = report.Devices.Sum(d => d.Maps), allocs = report.Devices.Sum(d => d.Allocs);
        Assert.Equal(maps + allocs, slices.Count);
        // the markers and the findings
        Assert.Equal(report.Events["tracing_mark_write"] + report.FindingCounts.Values.Sum(), events.Count(e => e.GetProperty("ph").GetString() == "i"));

        foreach (var lane in slices.GroupBy(e => (e.GetProperty("pid").GetInt32(), e.GetProperty("tid").GetInt32())))
        {
            double end = double.MinValue;
            foreach (var s in lane.OrderBy(e => e.GetProperty("ts").GetDouble()))
            {
                double ts = s.GetProperty("ts").GetDouble();
                Assert.True(ts >= end, $"overlap on lane {lane.Key}");
                end = ts + s.GetProperty("dur").GetDouble();
            }
        }
    }
}
