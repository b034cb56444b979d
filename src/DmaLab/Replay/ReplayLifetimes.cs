using System.Runtime.InteropServices;

namespace DmaLab.Replay;

/// <summary>
/// Completed streaming-mapping lifetimes per device and kind (single or sg, and size): how many of a kind the device
/// unmapped and how long the longest lived. The leak judgement at the end of a replay compares the mappings still
/// live with these (a kind the device otherwise unmaps, alive far longer than it ever lived). Allocation-free once
/// every kind was seen.
/// </summary>
internal sealed class ReplayLifetimes
{
    internal readonly record struct Kind(int Device, ReplayTable Table, ulong Size);

    internal struct Stats
    {
        public long Unmapped;
        public ulong MaxNs;
        public ulong TotalNs;
    }

    readonly Dictionary<Kind, Stats> _stats = new();

    public void Completed(int device, ReplayTable table, ulong size, ulong lifetimeNs)
    {
        ref var s = ref CollectionsMarshal.GetValueRefOrAddDefault(_stats, new Kind(device, table, size), out _);
        s.Unmapped++;
        s.TotalNs += lifetimeNs;
        if (lifetimeNs > s.MaxNs) s.MaxNs = lifetimeNs;
    }

    public Stats Of(int device, ReplayTable table, ulong size) => _stats.GetValueOrDefault(new Kind(device, table, size));
}
