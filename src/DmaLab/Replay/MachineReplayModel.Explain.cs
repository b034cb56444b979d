using System.Globalization;

namespace DmaLab.Replay;

public sealed partial class MachineReplayModel : IReplayExplain
{
    long _explainLine;
    Action<string>? _say;

    public void ExplainLine(long line, Action<string> say)
    {
        _explainLine = line;
        _say = say;
    }

    bool Explaining(in ReplayCall c) => _say is not null && c.Line == _explainLine;

    static string Ms(ulong ns) => (ns / 1e9).ToString("F6", CultureInfo.InvariantCulture) + " s";

    /// <summary>What a map or alloc of the explained line got, from where, and the domain's flush-queue state.</summary>
    void ExplainAlloc(in ReplayCall c, Dev d, ulong result, long rcacheHitsBefore)
    {
        if (!Explaining(c)) return;
        string path = d.Path switch { DmaPath.Iommu => "iommu-dma", DmaPath.Swiotlb => "swiotlb", _ => "dma-direct" };
        _say!($"{d.Device.Name}: {path} (chosen at its first call: {string.Join(", ", _paths.Select(p => $"{p.Value} device(s) {p.Key}"))})");
        if (d.Domain is not { } dom) { _say($"model address 0x{result:x}"); return; }
        bool hit = dom.Iovad.Stats.RcacheHits > rcacheHitsBefore;
        string where = $"domain {d.DomainId} ({(dom.Fq is null ? "strict" : "lazy, flush queue")}), CPU {Cpu(c.Cpu)}";
        if (LastCorrection != 0)
            _say($"{where}: IOVA 0x{unchecked(result + (ulong)LastCorrection):x} by the allocator's own rules, not the kernel's; " +
                 $"the kernel's range 0x{result:x} was free in the model (cached or in the tree), so the model took it and " +
                 "goes on from the kernel's state");
        else
            _say($"{where}: IOVA 0x{result:x} " +
                 (hit ? "from the CPU's range cache (the range freed last of its size class)" : "from the tree (top-down below the limit)"));
        ExplainQueue(dom.Fq);
    }

    void ExplainFree(in ReplayCall c, Dev d, ulong iova, ulong len)
    {
        if (!Explaining(c)) return;
        if (d.Domain is not { } dom) return;
        _say!(dom.Fq is null
            ? $"domain {d.DomainId} (strict): IOVA 0x{iova:x} + 0x{len:x} back to CPU {Cpu(c.Cpu)}'s range cache at once"
            : $"domain {d.DomainId} (lazy): IOVA 0x{iova:x} + 0x{len:x} queued on CPU {Cpu(c.Cpu)}'s flush queue until a flush");
        ExplainQueue(dom.Fq);
    }

    void ExplainQueue(DmaIommu.FlushQueue? fq)
    {
        if (fq is null) return;
        int waiting = 0;
        for (int cpu = 0; cpu < fq.QueueCount; cpu++) waiting += fq.QueuedOn(cpu);
        _say!($"flush queue: {waiting} range(s) waiting, timer " + (fq.TimerArmed ? $"armed at {Ms(fq.TimerArmedNs)} on CPU {fq.TimerCpu}" : "not armed") +
              (_timerEvents ? "; flushes run at the trace's timer_expire_entry lines"
                            : _fqInference?.LastPlacement is string p ? $"; last flush {p}" : ""));
    }
}
