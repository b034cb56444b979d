namespace DmaLab.Replay;

/// <summary>
/// Optional for an <see cref="IReplayModel"/>: receives the traced DMA segment list of the dma_map_sg about to be
/// replayed, before <see cref="IReplayModel.MapSg"/>. The trace does not record input segment lengths; a model that
/// must rebuild merged runs uses the segments' page offsets to find which input starts each run.
/// </summary>
public interface ITracedSgSegments
{
    void SetTracedSgSegments(ReadOnlySpan<ulong> dmaAddrs);
}
