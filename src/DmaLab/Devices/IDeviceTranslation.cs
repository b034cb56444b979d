namespace DmaLab.Devices;

/// <summary>How a device's bus addresses reach physical memory: through an IOMMU or directly (dma-ranges).</summary>
public interface IDeviceTranslation
{
    /// <summary>Translates one access; <paramref name="contiguous"/> is how many bytes from there are known to be
    /// physically contiguous (to the end of the page or range). False when the access aborts (an IOMMU fault).</summary>
    bool TryTranslate(ulong busAddr, bool write, out ulong phys, out ulong contiguous);
}
