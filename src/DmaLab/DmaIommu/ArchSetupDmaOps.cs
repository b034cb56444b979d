using DmaLab.Analysis;
using DmaLab.Devices;
using DmaLab.Dma;
using DmaLab.Iommu;

namespace DmaLab.DmaIommu;

/// <summary>
/// Chooses each device's DMA ops at probe (Linux: arch/arm64/mm/dma-mapping.c arch_setup_dma_ops(), called by
/// of_dma_configure() / acpi_dma_configure() after the IOMMU probed the device, and drivers/iommu/dma-iommu.c
/// iommu_setup_dma_ops()). dma-direct is set up first for everyone (dma-ranges, CMA area, coherent pool); then a
/// device whose group's default domain is a DMA or DMA_FQ domain switches to iommu-dma and shares that domain's
/// cookie. IDENTITY (passthrough), BLOCKED and failed probes stay on dma-direct, coherent or not; swiotlb remains the
/// bounce path of dma-direct (forced, or for addressing-limited masters) and of iommu-dma (untrusted devices).
/// Each decision is returned as an <see cref="DeviceSetup"/> (ops, domain, group) naming the reason.
/// </summary>
public static class ArchSetupDmaOps
{
    /// <summary>The record: Domain is "domain#N (TYPE)" (", shared" under the per-instance policy) or "none", Group the
    /// iommu_group number or "none".</summary>
    static DeviceSetup Record(Device dev, string ops, int? group, int? domainId, string? type, bool shared, string reason) =>
        new(dev.Name, ops, domainId is int d ? $"domain#{d} ({type}{(shared ? ", shared" : "")})" : "none",
            group is int g ? g.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none", reason);

    /// <summary>Sets up <paramref name="dev"/> and says what it got. <paramref name="iommu"/> is null on machines with no IOMMU layer.</summary>
    /// <param name="armIommu">32-bit ARM (CONFIG_ARM_DMA_USE_IOMMU): the arm_iommu ops that give each translated
    /// master its own UNMANAGED domain over the IDENTITY default (Linux: arch/arm/mm/dma-mapping.c arch_setup_dma_ops()
    /// → arm_setup_iommu_dma_ops()); null elsewhere.</param>
    public static DeviceSetup Setup(Device dev, DmaDirectOps direct, IommuSubsystem? iommu, IommuDmaOps? iommuDma, ArmIommuDmaOps? armIommu = null)
    {
        ArgumentNullException.ThrowIfNull(dev);
        ArgumentNullException.ThrowIfNull(direct);
        direct.Attach(dev);
        bool forced = dev.DmaIoTlbMem is { ForceBounce: true };
        string directName = dev.Coherent ? "dma-direct coherent" : "dma-direct non-coherent";
        string bounce = forced ? $"; swiotlb pool {dev.DmaIoTlbMem!.Name} bounces every mapping"
            : dev.DmaIoTlbMem is not null && direct.AddressingLimited(dev) ? $"; {dev.Name} cannot reach all memory (mask 0x{dev.DmaMask:x}), so swiotlb bounces what it cannot reach" : "";

        if (dev.Spec.Iommu is null || iommu is null)
            return Record(dev, "dma-direct", null, null, null, false,
                $"no IOMMU translates it: {directName}{bounce}");
        var info = iommu.Info(dev);
        if (info.ProbeResult != 0 || info.Group is null)
        {
            string why = iommu.Core.FindInstance(dev.Spec.Iommu) is null
                ? $"IOMMU {dev.Spec.Iommu} is disabled or has no driver, so the device is untranslated"
                : $"IOMMU probe failed ({info.Reason})";
            return Record(dev, "dma-direct", null, null, null, false,
                $"{why}: {directName}{bounce}");
        }
        var group = info.Group;
        var dom = group.DefaultDomain;
        bool shared = dom is not null && dom.AttachedGroups > 1 || dom is not null && iommu.Core.PerInstance && dom.Type.IsDmaApi();
        if (dom is null)
            return Record(dev, "dma-direct", group.Id, null, null, false,
                $"iommu_group {group.Id} has no default domain ({info.Reason}): {directName}{bounce}");
        string type = dom.Type.SysfsName();
        if (armIommu is not null && iommu.Core.ArmDmaUseIommu && dom.Type == IommuDomainType.Identity)
        {
            int aret = armIommu.Setup(dev);
            if (aret == 0)
            {
                var m = armIommu.MappingOf(dev)!;
                return Record(dev, "arm-iommu", group.Id, m.Domain!.Id, m.Domain.Type.SysfsName(), false,
                    $"ARM32 arm_iommu: UNMANAGED domain + bitmap IOVA (arch/arm/mm/dma-mapping.c) on {group.Instance.Name}, window 0x{m.Base:x}+{m.Extensions}x0x{m.BitmapSpan:x}, strict invalidation on every unmap");
            }
            return Record(dev, "dma-direct", group.Id, dom.Id, type, shared,
                $"arm_setup_iommu_dma_ops failed (-{Errno.Name(aret)}): IDENTITY default domain, {directName}{bounce}");
        }
        if (dom.Type.IsDmaApi() && iommuDma is not null)
        {
            int ret = iommuDma.Attach(dev, dom);
            if (ret == 0)
            {
                // iommu_dma_init_domain() may have demoted DMA_FQ to DMA (no deferred flush): report what is in force.
                type = dom.Type.SysfsName();
                var cookie = iommuDma.StateOf(dev)!.Cookie;
                var fq = dom.Type == IommuDomainType.DmaFq ? cookie.Fq : null;
                string mode = fq is not null ? $"lazy invalidation through {cookie.Options.Describe(fq.QueueCount)}" : "strict invalidation on every unmap";
                string sharing = shared ? $"; domain#{dom.Id} is shared by every master of {group.Instance.Name} (per-instance policy: no isolation, shared IOTLB entries)" : "";
                string untrusted = dev.Untrusted ? "; untrusted device: sub-granule buffers bounce through swiotlb" : "";
                return Record(dev, "iommu-dma", group.Id, dom.Id, type, shared,
                    $"default domain {type} on {group.Instance.Name} ({info.Reason}): iommu-dma, {mode}{sharing}{untrusted}") with
                {
                    FlushQueue = fq is null ? null
                        : new DeviceFlushQueue(fq.Type == FlushQueueType.Single ? "single" : "per-cpu", fq.Size, fq.QueueCount, fq.TimeoutMs),
                };
            }
            return Record(dev, "dma-direct", group.Id, dom.Id, type, shared,
                $"iommu_dma_init_domain failed (-{Errno.Name(ret)}): {directName}{bounce}");
        }
        string what = dom.Type switch
        {
            IommuDomainType.Identity => "identity (passthrough) default domain: DMA bypasses translation",
            IommuDomainType.Blocked => "blocked default domain: every DMA will fault",
            _ => $"{type} default domain is not a DMA API domain",
        };
        return Record(dev, "dma-direct", group.Id, dom.Id, type, shared,
            $"{what} ({info.Reason}): {directName}{bounce}");
    }
}
