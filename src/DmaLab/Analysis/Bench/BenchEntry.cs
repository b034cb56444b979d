namespace DmaLab.Analysis.Bench;

/// <summary>
/// One scenario's figures (the model's counterpart of dma_map_benchmark's avg_map_100ns/avg_unmap_100ns, here for the
/// map+unmap pair). Host time: it measures the tool running the model, not the modelled hardware.
/// </summary>
/// <param name="Name">stable name, comparable across versions (e.g. "iommu-dma-strict-map-unmap-4k")</param>
/// <param name="Description">what one op is</param>
/// <param name="NsPerOp">mean host nanoseconds per op, per thread (averaged over threads)</param>
/// <param name="OpsPerSec">aggregate ops per second over all threads (total ops / wall time of the measured phase)</param>
/// <param name="AllocatedBytesPerOp">managed bytes allocated per op during the measured phase (all threads)</param>
/// <param name="TotalOps">ops measured, all threads together</param>
/// <param name="Completed">ops whose result the runner checked as a success (a mapping that is not DMA_MAPPING_ERROR, a hit)</param>
/// <param name="ModelCount">how far the model's own counter for this op advanced during the measured phase
/// (swiotlb maps, IOVA rcache hits, IOMMU unmapped pages, IOTLB hits), or -1 where the model keeps none</param>
public sealed record BenchEntry(string Name, string Description, double NsPerOp, double OpsPerSec, double AllocatedBytesPerOp,
    long TotalOps, long Completed, long ModelCount);
