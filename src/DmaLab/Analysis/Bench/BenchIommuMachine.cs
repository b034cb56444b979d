using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.Hardware;
using DmaLab.Mm;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// A booted <see cref="Machine"/> with an SMMU in front of its master, opened up for the benchmarks that drive the
/// IOMMU layers below the DMA API: the master's default domain, the IOMMU core, and the master's translation port.
/// </summary>
internal sealed class BenchIommuMachine
{
    public BenchIommuMachine(bool smmuV2, ulong seed)
    {
        Machine = Machine.Boot(BenchPlatform.Iommu(smmuV2), new MachineOptions { Seed = seed, DmaDebug = false, Policy = IommuPolicy.Strict });
        Master = Machine.Device(BenchPlatform.MasterName);
        var info = Machine.Iommu.Info(Master);
        Domain = info.DefaultDomain ?? throw new InvalidOperationException($"bench master got no default domain: {info.Reason}");
        (Unit, Port) = Machine.Iommu.TranslationFor(Master) ?? throw new InvalidOperationException("bench master is not behind its SMMU");
        Buffer = BenchBuffers.Page(Machine.Memory.PageAllocator, seed);
    }

    public Machine Machine { get; }
    public Device Master { get; }
    public IommuCore Core => Machine.Iommu.Core;
    public IommuDomain Domain { get; }
    public TranslationUnit Unit { get; }
    public int Port { get; }
    /// <summary>The page the master maps.</summary>
    public PhysAddr Buffer { get; }
}
