namespace DmaLab.DmaIommu;

/// <summary>One input scatterlist entry: physical address and length (Linux: sg_phys(s), s->length).</summary>
public readonly record struct SgSegment(ulong Phys, uint Length);

/// <summary>One output DMA segment after iommu-dma merged the list (Linux: sg_dma_address(), sg_dma_len()).</summary>
public readonly record struct SgDmaSegment(ulong DmaAddress, uint DmaLength);
