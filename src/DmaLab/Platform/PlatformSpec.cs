namespace DmaLab.Platform;

/// <summary>
/// A machine as DmaLab models it: memory, reserved regions, CMA, swiotlb, caches, IOMMU instances and devices.
/// Loaded from YAML (see docs/platform-spec.md), built in, or imported from a device tree.
/// </summary>
public sealed class PlatformSpec
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>"arm64", "arm", "x86_64" or "s390x": decides zone limits and cache behaviour.</summary>
    public string Arch { get; set; } = "arm64";
    public int Cpus { get; set; } = 4;
    public int CacheLineSize { get; set; } = 64;
    /// <summary>Size of the kernel's vmalloc area available to DMA remaps.</summary>
    public ulong VmallocSize { get; set; } = 240UL << 20;
    public List<MemorySpec> Memory { get; set; } = new();
    public List<ReservedMemorySpec> ReservedMemory { get; set; } = new();
    public CmaSpec Cma { get; set; } = new();
    public SwiotlbSpec Swiotlb { get; set; } = new();
    public KernelOptionsSpec Kernel { get; set; } = new();
    public List<IommuSpec> Iommus { get; set; } = new();
    public List<DeviceSpec> Devices { get; set; } = new();
    /// <summary>Overrides of the cost model (virtual ns); null keeps the defaults.</summary>
    public Sim.CostModel? Costs { get; set; }
    /// <summary>Where the spec came from (file name or "built-in"), for messages.</summary>
    [YamlDotNet.Serialization.YamlIgnore] public string Source { get; set; } = "";
    /// <summary>Importer notes (approximations, unknown nodes), shown with the platform.</summary>
    public List<string> Notes { get; set; } = new();
}
