using DmaLab.Dma;

namespace DmaLab.Replay;

/// <summary>
/// dma-direct without translation: dma_addr = phys_addr (Linux: kernel/dma/direct.h, dma_direct_map_phys() with
/// phys_to_dma() the identity, i.e. no dma-ranges offset and no bounce). The right model for traces the replayer
/// infers as dma-direct (every traced dma_addr equals its phys_addr). Coherent allocations are not comparable: the
/// page the allocator picked is not in the event.
/// </summary>
public sealed class IdentityReplayModel : IReplayModel
{
    public string Name => "identity (dma-direct 1:1)";

    /// <summary>dma_addr = phys_addr whatever the order: no lookahead needed.</summary>
    public bool WantsLookahead => false;

    public void AddDevice(int deviceId, string name) { }

    public DmaAddr Map(in ReplayCall call) => new(call.Phys);

    public void Unmap(in ReplayCall call) { }

    public int MapSg(in ReplayCall call, ReadOnlySpan<ulong> phys, ReadOnlySpan<ulong> traceLengths, Span<ulong> dmaAddrs, Span<ulong> dmaLengths)
    {
        // dma-direct maps every segment on its own (no merging), so ents == nents.
        int n = Math.Min(phys.Length, dmaAddrs.Length);
        for (int i = 0; i < n; i++)
        {
            dmaAddrs[i] = phys[i];
            dmaLengths[i] = i < traceLengths.Length ? traceLengths[i] : 0;
        }
        return call.FullNents > 0 ? call.FullNents : phys.Length;
    }

    public void UnmapSg(in ReplayCall call, ReadOnlySpan<ulong> phys) { }

    public DmaAddr Alloc(in ReplayCall call, out bool comparable)
    {
        comparable = false;
        return call.TraceDmaAddr;
    }

    public void Free(in ReplayCall call) { }

    public void Sync(in ReplayCall call) { }
}
