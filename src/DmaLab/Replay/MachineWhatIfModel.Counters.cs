namespace DmaLab.Replay;

public sealed partial class MachineWhatIfModel : IReplayCounterSource
{
    long _sampledMisses = -1;
    ulong _sampledNs;
    string? _counterName;

    /// <summary>IOTLB misses per millisecond of trace time on the what-if machine since the previous sample.</summary>
    public void SampleCounters(ulong ns, IReplayObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        if (_m is not { } m) return;
        long misses = Baseline.Take(m).Misses;
        if (_sampledMisses >= 0 && ns > _sampledNs)
        {
            _counterName ??= $"what-if {MachineReplayModel.PolicyName(Policy)}{(_family is null ? "" : " on " + _family.Name)}";
            observer.OnCounter(ReplayCounterKind.IotlbMissesPerMs, 0, _counterName, _sampledNs, (misses - _sampledMisses) * 1e6 / (ns - _sampledNs));
        }
        _sampledMisses = misses;
        _sampledNs = ns;
    }
}
