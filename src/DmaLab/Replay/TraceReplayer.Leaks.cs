using System.Globalization;

namespace DmaLab.Replay;

public sealed partial class TraceReplayer
{
    readonly ReplayLifetimes _lifetimes = new();

    /// <summary>
    /// Judges the streaming mappings still live when the trace ended. Being live is not a bug: rx rings, queues and
    /// long-lived buffers stay mapped by design, so each device gets one informational <c>live-at-end</c> finding that
    /// names its ring when it has one (most live mappings of one size, a kind the device keeps unmapping and
    /// refilling, its live count steady). A <c>leak</c> needs evidence, as dma-debug's "device driver has pending DMA
    /// allocations" does not (kernel/dma/debug.c only reports at driver unbind): a mapping of a kind the device
    /// otherwise unmaps, alive more than <see cref="ReplayOptions.LeakAgeFactor"/> times the longest lifetime of that
    /// kind; or (<c>leak-growth</c>) a live count whose floor rises quarter after quarter of the trace.
    /// </summary>
    List<ReplayLiveAtEnd> JudgeLiveAtEnd()
    {
        var byDevice = new List<int>?[_devices.Count];
        foreach (int i in _table.LiveIndices())
            if (_table[i].Table != ReplayTable.Coherent && (_filter is null || _table[i].InView)) (byDevice[_table[i].Device] ??= new()).Add(i);
        var result = new List<ReplayLiveAtEnd>();
        for (int dev = 0; dev < _devices.Count; dev++)
        {
            var list = byDevice[dev];
            string growth = "";
            if (list is null) continue;
            list.Sort((a, b) => _table[a].Line.CompareTo(_table[b].Line));
            var d = _devices[dev];
            long leaked = 0, bytes = 0;
            foreach (int i in list) bytes += (long)_table[i].Size;
            foreach (int i in list)
            {
                var m = _table[i];
                var kind = _lifetimes.Of(dev, m.Table, m.Size);
                ulong age = _lastNs - m.StartNs;
                if (kind.Unmapped < _opt.LeakMinUnmaps || age == 0 || age <= kind.MaxNs * _opt.LeakAgeFactor) continue;
                leaked++;
                AddFinding(ReplayFindingKinds.Leak, d.Name, m.Table == ReplayTable.Sg ? m.Phys : m.TraceDma,
                    $"{What(m.Table)} mapping of {m.Size} bytes ({Addr(m)}) mapped at line {m.Line} is still live after {Time(age)}; " +
                    $"the device unmapped {kind.Unmapped:N0} mappings of this kind and none lived longer than {Time(kind.MaxNs)}", m.Line);
            }
            bool growing = (_filter is null || _filter.MatchesDevice(d.Name)) && Grows(d, out growth);
            if (growing)
                AddFinding(ReplayFindingKinds.LeakGrowth, d.Name, 0,
                    $"live streaming mappings grew through the trace and were never given back: lowest count per quarter {growth}", _table[list[0]].Line);

            var common = list.GroupBy(i => (_table[i].Table, _table[i].Size)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Size).First();
            long commonCount = common.Count();
            var commonKind = _lifetimes.Of(dev, common.Key.Table, common.Key.Size);
            // A ring: nine in ten of the live mappings share one kind, the device recycled some of that kind during the
            // trace (unmapped and mapped again), and its live count stayed near where it ended.
            bool ring = !growing && leaked == 0 && commonCount >= 8 && commonCount * 10 >= list.Count * 9
                && commonKind.Unmapped >= Math.Min(8, commonCount) && d.PeakLiveMappings * 4 <= list.Count * 5 + 4;
            string summary = $"{list.Count:N0} mapping(s), {bytes:N0} bytes, live at the end (oldest from line {_table[list[0]].Line})";
            if (ring)
                summary += $": a ring of {commonCount:N0} {What(common.Key.Table)} mappings of {common.Key.Size} bytes, refilled as they are unmapped ({commonKind.Unmapped:N0} recycled)";
            else if (leaked > 0 || growing)
                summary += $": {(leaked > 0 ? $"{leaked:N0} judged leaked" : "the live count grows")} (see the leak findings)";
            else
                summary += "; no sign of a leak";
            AddFinding(ReplayFindingKinds.LiveAtEnd, d.Name, Addr0(_table[list[0]]), summary, _table[list[0]].Line);
            result.Add(new ReplayLiveAtEnd
            {
                Device = d.Name, Mappings = list.Count, Bytes = bytes, CommonSize = commonCount * 2 > list.Count ? common.Key.Size : 0,
                CommonSizeCount = commonCount, Pattern = ring ? "ring" : null, Leaked = leaked, FirstLine = _table[list[0]].Line, Summary = summary,
            });
        }
        return result;
    }

    /// <summary>True when the device's lowest live count rises in every quarter of its active time after the first,
    /// by at least 4 mappings overall: a ring or a burst comes back down, a leak does not.</summary>
    static bool Grows(ReplayDeviceStats d, out string floors)
    {
        floors = "";
        var samples = d.Live.ToList();
        if (samples.Count < 8 || d.LastNs <= d.FirstNs) return false;
        var low = new long[4];
        Array.Fill(low, long.MaxValue);
        double span = d.LastNs - d.FirstNs;
        foreach (var s in samples)
        {
            int q = Math.Clamp((int)((s.TimeNs - d.FirstNs) / span * 4), 0, 3);
            low[q] = Math.Min(low[q], s.Mappings);
        }
        if (low.Any(x => x == long.MaxValue)) return false;
        floors = string.Join(" → ", low.Select(x => x.ToString("N0", CultureInfo.InvariantCulture)));
        return low[1] < low[2] && low[2] < low[3] && low[0] <= low[1] && low[3] >= low[0] + 4 && low[3] >= 2 * Math.Max(1, low[0]);
    }

    static string What(ReplayTable t) => t == ReplayTable.Sg ? "sg" : "single";

    static ulong Addr0(in LiveMapping m) => m.Table == ReplayTable.Sg ? m.Phys : m.TraceDma;

    static string Addr(in LiveMapping m) => m.Table == ReplayTable.Sg ? $"first phys_addr 0x{m.Phys:x}" : $"dma_addr 0x{m.TraceDma:x}";

    static string Time(ulong ns) => ns switch
    {
        >= 1_000_000_000 => (ns / 1e9).ToString("0.###", CultureInfo.InvariantCulture) + " s",
        >= 1_000_000 => (ns / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        >= 1_000 => (ns / 1e3).ToString("0.###", CultureInfo.InvariantCulture) + " µs",
        _ => ns + " ns",
    };
}
