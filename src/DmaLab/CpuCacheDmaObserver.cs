using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab;

/// <summary>
/// Plugs a non-coherent master's <see cref="DmaEngine"/> into the CPU-cache model: after the engine moved bytes at a
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

    public void OnDeviceRead(Device device, PhysAddr addr, ulong length) =>
        cache.DeviceRead(device.Name, device.Coherent, addr, Scratch(length));

    public void OnDeviceWrite(Device device, PhysAddr addr, ulong length)
    {
        // The engine already stored the bytes; the cache model re-applies them to track the lines they land under.
        var buf = Scratch(length);
        memory.Read(addr, buf);
        cache.DeviceWrite(device.Name, device.Coherent, addr, buf);
    }
}
