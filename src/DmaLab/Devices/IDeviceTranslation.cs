namespace DmaLab.Devices;

/// <summary>How a device's bus addresses reach physical memory: through an IOMMU or directly (dma-ranges).</summary>
public interface IDeviceTranslation
{
    /// <summary>Translates one access; <paramref name="contiguous"/> is how many bytes from there are known to be
    /// physically contiguous (to the end of the page or range). False when the access aborts (an IOMMU fault).</summary>
    bool TryTranslate(ulong busAddr, bool write, out ulong phys, out ulong contiguous);

    /// <summary>As <see cref="TryTranslate(ulong, bool, out ulong, out ulong)"/> for an access of
    /// <paramref name="length"/> bytes from <paramref name="busAddr"/> (translations that count what they serve, e.g.
    /// stale-translation bytes, use it).</summary>
    bool TryTranslate(ulong busAddr, ulong length, bool write, out ulong phys, out ulong contiguous)
        => TryTranslate(busAddr, write, out phys, out contiguous);
}
