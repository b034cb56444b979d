using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Workloads;

/// <summary>
/// Connects a <see cref="DmaEngine"/> to the <see cref="CpuCache"/> model: every physical range a device read or
/// wrote after translation is checked against the CPU's cache lines, so a non-coherent master reading dirty lines
/// or writing under valid lines is seen (and a later CPU read without dma_sync_*_for_cpu returns stale data).
/// </summary>
public sealed class CpuCacheDmaObserver(CpuCache cache) : IDmaAccessObserver
{
    byte[] _scratch = new byte[4096];

    public void OnDeviceRead(Device device, PhysAddr addr, ulong length)
    {
        if (cache.LinesPresent == 0) return;
        // the engine already read DRAM; re-reading through the model only adds the coherency check
        cache.DeviceRead(device.Name, device.Coherent, addr, Scratch(length));
    }

    public void OnDeviceWrite(Device device, PhysAddr addr, ulong length)
    {
        if (cache.LinesPresent == 0) return;
        // DRAM already holds the device's bytes; writing them again through the model marks cached lines stale
        var buf = Scratch(length);
        cache.Memory.Read(addr, buf);
        cache.DeviceWrite(device.Name, device.Coherent, addr, buf);
    }

    Span<byte> Scratch(ulong length)
    {
        if ((ulong)_scratch.Length < length) _scratch = new byte[Math.Max(length, (ulong)_scratch.Length * 2)];
        return _scratch.AsSpan(0, (int)length);
    }
}
