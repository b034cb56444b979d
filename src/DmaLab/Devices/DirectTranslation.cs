namespace DmaLab.Devices;

/// <summary>
/// Untranslated DMA: bus address = physical address, or offset by the device's dma-ranges
/// (Linux: kernel/dma/direct.h translate_dma_to_phys() over dev->dma_range_map).
/// A bus address outside every dma-range is not reachable (the transaction goes nowhere: no translation).
/// </summary>
public sealed class DirectTranslation(Device device) : IDeviceTranslation
{
    public bool TryTranslate(ulong busAddr, bool write, out ulong phys, out ulong contiguous)
    {
        var ranges = device.Spec.DmaRanges;
        if (ranges.Count == 0) { phys = busAddr; contiguous = ulong.MaxValue - busAddr; return true; }
        foreach (var r in ranges)
        {
            if (busAddr >= r.BusAddr && busAddr - r.BusAddr < r.Size)
            {
                phys = r.CpuAddr + (busAddr - r.BusAddr);
                contiguous = r.Size - (busAddr - r.BusAddr);
                return true;
            }
        }
        phys = 0;
        contiguous = 0;
        return false;
    }
}
