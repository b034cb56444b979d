using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab;

/// <summary>
/// Plugs a master's <see cref="DmaEngine"/> into the CPU-cache model (a coherent one for its writes only): after the engine moved bytes at a
/// physical range, the cache sees the same access (a device read of lines the CPU holds dirty reads stale memory, a
/// device write under valid lines is hidden by them), so a missing dma_sync_* shows up as a cache finding.
/// </summary>
internal sealed class CpuCacheDmaObserver(CpuCache cache, PhysicalMemory memory) : IDmaAccessObserver
{
    byte[] _scratch = new byte[4096];

    Span<byte> Scratch(ulong length)
    {
        if ((ulong)_scratch.Length < length) _scratch = new byte[(int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length)];
        return _scratch.AsSpan(0, (int)length);
    }

    public void OnDeviceRead(Device device, PhysAddr addr, ulong length)
    {
        if (device.Coherent) return; // attached to coherent masters for their writes only (below)
        cache.DeviceRead(device.Name, device.Coherent, addr, Scratch(length));
    }

    public void OnDeviceWrite(Device device, PhysAddr addr, ulong length)
    {
        // A coherent master snoops: its write updates the lines the CPU holds, or a CPU read after the DMA would see
        // the line's old bytes (the nvme-queue workload's data errors were such reads of a page's previous I/O).
        if (cache.LinesPresent == 0) return;
        // The engine already stored the bytes; the cache model re-applies them to track the lines they land under.
        var buf = Scratch(length);
        memory.Read(addr, buf);
        cache.DeviceWrite(device.Name, device.Coherent, addr, buf);
    }
}
