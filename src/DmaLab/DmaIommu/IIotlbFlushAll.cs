namespace DmaLab.DmaIommu;

/// <summary>
/// The one driver callback a flush queue needs: invalidate the whole IOTLB of the domain
/// (Linux: iommu_domain_ops.flush_iotlb_all, called from dma-iommu.c fq_flush_iotlb()).
/// </summary>
public interface IIotlbFlushAll
{
    void FlushIotlbAll();
}
