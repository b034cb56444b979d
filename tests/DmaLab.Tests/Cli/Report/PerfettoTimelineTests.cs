using DmaLab.Cli.Report.Perfetto;
using DmaLab.Replay;
using DmaLab.Tests.Trace;
using PfTrace = DmaLab.Cli.Report.Perfetto.Trace;

namespace DmaLab.Tests.Cli.Report;

/// <summary>The .pftrace timeline decodes with our Perfetto schema: a process track per device, lane tracks under it
/// with one slice per mapping lifetime (direction, size, addresses), findings as instants, phases as slices, and the
/// counter tracks the replay reports.</summary>
public class PerfettoTimelineTests
{
    sealed record Decoded(ReplayReport Report, PfTrace Trace, Dictionary<ulong, TrackDescriptor> Tracks, Dictionary<ulong, string> Names,
        Dictionary<ulong, string> Args, long Bytes);

    static Decoded Replay(string sample, ReplayRunOptions? o = null)
    {
        var ms = new MemoryStream();
        ReplayReport report;
        using (var w = new PerfettoTimelineWriter(ms))
        {
            using var s = File.OpenRead(TraceSamples.PathOf(sample));
            report = ReplayRunner.Run(s, sample, new ReplayRunOptions { Observer = w, Policy = o?.Policy, IommuModel = o?.IommuModel });
            w.Complete();
        }
        var trace = PfTrace.Parser.ParseFrom(ms.ToArray());
        var tracks = trace.Packet.Where(p => p.TrackDescriptor is not null).ToDictionary(p => p.TrackDescriptor.Uuid, p => p.TrackDescriptor);
        var names = new Dictionary<ulong, string>();
        var args = new Dictionary<ulong, string>();
        foreach (var p in trace.Packet.Where(p => p.InternedData is not null))
        {
            foreach (var n in p.InternedData.EventNames) names.Add(n.Iid, n.Name);
            foreach (var n in p.InternedData.DebugAnnotationNames) args.Add(n.Iid, n.Name);
        }
        return new Decoded(report, trace, tracks, names, args, ms.Length);
    }

    static List<string> CounterTracks(Decoded d) => d.Tracks.Values.Where(t => t.Counter is not null).Select(t => t.Name).ToList();

    [Fact]
    public void Strict_vtd_sample_has_device_tracks_lifetime_slices_findings_phases_and_counters()
    {
        var d = Replay(TraceSamples.VtdStrict);
        var r = d.Report;
        var packets = d.Trace.Packet;
        Assert.Equal(1u, packets[0].SequenceFlags); // incremental state cleared before any interned id is used
        Assert.All(packets, p => Assert.Equal(1u, p.TrustedPacketSequenceId));
        var processes = d.Tracks.Values.Where(t => t.Process is not null).ToDictionary(t => t.Process.ProcessName, t => t.Uuid);
        Assert.Contains("markers", processes.Keys);
        foreach (var dev in r.Devices) Assert.Contains(dev.Name, processes.Keys);

        // every event's track is declared before it, and every interned id is defined before it is used
        var seenTracks = new HashSet<ulong>();
        var seenNames = new HashSet<ulong>();
        foreach (var p in packets)
        {
            if (p.TrackDescriptor is { } t) seenTracks.Add(t.Uuid);
            if (p.InternedData is { } i) foreach (var n in i.EventNames) seenNames.Add(n.Iid);
            if (p.TrackEvent is not { } e) continue;
            Assert.Contains(e.TrackUuid, seenTracks);
            if (e.HasNameIid) Assert.Contains(e.NameIid, seenNames);
        }

        var events = packets.Where(p => p.TrackEvent is not null).ToList();
        var laneTracks = d.Tracks.Values.Where(t => t.Name.StartsWith("lane ", StringComparison.Ordinal)).Select(t => t.Uuid).ToHashSet();
        var begins = events.Where(p => p.TrackEvent.Type == TrackEvent.Types.Type.SliceBegin && laneTracks.Contains(p.TrackEvent.TrackUuid)).ToList();
        Assert.Equal(r.Devices.Sum(x => x.Maps + x.Allocs), begins.Count);
        Assert.Equal(begins.Count, events.Count(p => p.TrackEvent.Type == TrackEvent.Types.Type.SliceEnd && laneTracks.Contains(p.TrackEvent.TrackUuid)));
        var map = begins.First(p => p.TrackEvent.HasNameIid && d.Names[p.TrackEvent.NameIid] == "dma_map");
        var argNames = map.TrackEvent.DebugAnnotations.Select(a => d.Args[a.NameIid]).ToList();
        Assert.Equal(["direction", "size", "dma_addr", "phys_addr", "line"], argNames.Take(5));
        Assert.True(map.TrackEvent.DebugAnnotations[2].PointerValue >= 0xf000_0000); // an IOVA below 4 GiB, top-down

        // slices on a lane never overlap
        foreach (var lane in events.Where(p => laneTracks.Contains(p.TrackEvent.TrackUuid)).GroupBy(p => p.TrackEvent.TrackUuid))
        {
            int depth = 0;
            foreach (var p in lane.OrderBy(p => p.Timestamp).ThenBy(p => p.TrackEvent.Type == TrackEvent.Types.Type.SliceBegin ? 1 : 0))
            {
                depth += p.TrackEvent.Type == TrackEvent.Types.Type.SliceBegin ? 1 : -1;
                Assert.InRange(depth, 0, 1);
            }
        }

        // phases: one slice per marker on the phases track
        var phases = events.Where(p => p.TrackEvent.TrackUuid == 2 && p.TrackEvent.Type == TrackEvent.Types.Type.SliceBegin).ToList();
        Assert.Equal(r.Events["tracing_mark_write"], phases.Count);
        // findings: instants on each device's findings track
        var instants = events.Where(p => p.TrackEvent.Type == TrackEvent.Types.Type.Instant).ToList();
        Assert.Equal(r.FindingCounts.Values.Sum(), instants.Count);
        Assert.All(instants, p => Assert.Equal("findings", d.Tracks[p.TrackEvent.TrackUuid].Name));

        var counters = CounterTracks(d);
        Assert.Equal(r.Devices.Count, counters.Count(n => n == "live mappings"));
        Assert.Equal(r.Devices.Count, counters.Count(n => n == "live mapped bytes"));
        Assert.Equal(3, counters.Count(n => n.StartsWith("IOVA space in use: domain ", StringComparison.Ordinal)));
        // the last live-mappings value of each device is its live count at the end of the trace
        foreach (var dev in r.Devices)
        {
            ulong live = d.Tracks.Values.Single(t => t.Name == "live mappings" && t.ParentUuid == processes[dev.Name]).Uuid;
            var last = events.Where(p => p.TrackEvent.TrackUuid == live).MaxBy(p => p.Timestamp)!;
            Assert.Equal(dev.LiveMappingsAtEnd, last.TrackEvent.CounterValue);
            Assert.Equal(dev.PeakLiveMappings, events.Where(p => p.TrackEvent.TrackUuid == live).Max(p => p.TrackEvent.CounterValue));
        }
        Assert.Equal(CounterDescriptor.Types.Unit.SizeBytes, d.Tracks.Values.First(t => t.Name == "live mapped bytes").Counter.Unit);
    }

    [Fact]
    public void Lazy_sample_has_flush_queue_depth_and_a_what_if_has_iotlb_misses_per_ms()
    {
        var lazy = Replay("qemu-vtd-lazy-sample2.trace.xz", new ReplayRunOptions { Policy = ReplayPolicy.Strict });
        var counters = CounterTracks(lazy);
        Assert.Contains(counters, n => n.StartsWith("flush-queue depth: domain ", StringComparison.Ordinal));
        Assert.Contains(counters, n => n.StartsWith("IOTLB misses per ms: what-if strict", StringComparison.Ordinal));
        ulong fq = lazy.Tracks.Values.First(t => t.Name.StartsWith("flush-queue depth", StringComparison.Ordinal)).Uuid;
        Assert.Contains(lazy.Trace.Packet, p => p.TrackEvent is { } e && e.TrackUuid == fq && e.CounterValue > 0);
        ulong misses = lazy.Tracks.Values.First(t => t.Name.StartsWith("IOTLB misses per ms", StringComparison.Ordinal)).Uuid;
        Assert.Contains(lazy.Trace.Packet, p => p.TrackEvent is { } e && e.TrackUuid == misses && e.CounterValue > 0);

        var bounce = Replay(TraceSamples.VtdSwiotlb);
        ulong slots = bounce.Tracks.Values.Single(t => t.Name == "swiotlb slots in use: swiotlb").Uuid;
        Assert.Contains(bounce.Trace.Packet, p => p.TrackEvent is { } e && e.TrackUuid == slots && e.CounterValue > 0);
        // dma-direct bouncing: the slot (dma_addr) differs from the buffer (phys_addr), both are arguments
        var begin = bounce.Trace.Packet.First(p => p.TrackEvent is { Type: TrackEvent.Types.Type.SliceBegin, HasNameIid: true } e && bounce.Names[e.NameIid] == "dma_map");
        Assert.Contains(begin.TrackEvent.DebugAnnotations, a => bounce.Args[a.NameIid] == "phys_addr");
    }
}
