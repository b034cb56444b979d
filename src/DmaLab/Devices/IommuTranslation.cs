using DmaLab.Iommu.Hardware;

namespace DmaLab.Devices;

/// <summary>DMA through an IOMMU translation unit port: one translation per 4 KiB page touched.</summary>
public sealed class IommuTranslation(TranslationUnit unit, int port) : IDeviceTranslation
{
    public TranslationUnit Unit { get; } = unit;
    public int Port { get; } = port;

    public bool TryTranslate(ulong busAddr, bool write, out ulong phys, out ulong contiguous)
    {
        contiguous = 4096 - (busAddr & 4095);
        return Unit.Translate(Port, busAddr, write, out phys);
    }

    public bool TryTranslate(ulong busAddr, ulong length, bool write, out ulong phys, out ulong contiguous)
    {
        contiguous = 4096 - (busAddr & 4095);
        return Unit.TranslateAccess(Port, busAddr, Math.Min(length, contiguous), write, out phys);
    }
}
