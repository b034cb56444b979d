namespace DmaLab.Iommu;

/// <summary>The IOVA aperture a domain can translate (Linux: struct iommu_domain_geometry).</summary>
public readonly record struct IommuDomainGeometry(ulong ApertureStart, ulong ApertureEnd, bool ForceAperture)
{
    /// <summary>An aperture covering an <paramref name="ias"/>-bit input address space.</summary>
    public static IommuDomainGeometry FromIas(int ias) => new(0, ias >= 64 ? ulong.MaxValue : (1UL << ias) - 1, true);
    public bool Contains(ulong iova, ulong size) => size != 0 && iova >= ApertureStart && iova - ApertureStart <= ApertureEnd - ApertureStart && size - 1 <= ApertureEnd - iova;
}
