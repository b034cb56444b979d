using DmaLab.Devices;
using DmaLab.Iommu;
using DmaLab.Iommu.Hardware;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Analysis.Bench;

/// <summary>
/// A booted bench platform with an SMMU in front of its master: memory, the IOMMU subsystem (driver probe, group,
/// default domain chosen by the strict/lazy policy) and the master's translation port.
/// </summary>
internal sealed class BenchIommuMachine
{
    public BenchIommuMachine(bool strict, bool smmuV2, ulong seed)
    {
        var spec = BenchPlatform.Iommu(strict, smmuV2);
        Memory = new MemorySystem(spec);
        Clock = new SimClock();
        Master = new Device(spec.Devices[0]);
        Subsystem = IommuSubsystem.Boot(spec, [Master], Memory.Memory, Memory.PageAllocator, Clock, spec.Costs ?? new CostModel(), seed: seed);
        var info = Subsystem.Info(Master);
        Domain = info.DefaultDomain ?? throw new InvalidOperationException($"bench master got no default domain: {info.Reason}");
        (Unit, Port) = Subsystem.TranslationFor(Master) ?? throw new InvalidOperationException("bench master is not behind its SMMU");
        Buffer = BenchBuffers.Page(Memory.PageAllocator, seed);
    }

    public MemorySystem Memory { get; }
    public SimClock Clock { get; }
    public Device Master { get; }
    public IommuSubsystem Subsystem { get; }
    public IommuCore Core => Subsystem.Core;
    public IommuDomain Domain { get; }
    public TranslationUnit Unit { get; }
    public int Port { get; }
    /// <summary>The page the master maps.</summary>
    public PhysAddr Buffer { get; }
}
