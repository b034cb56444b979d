using DmaLab.Mm;

namespace DmaLab.Devices;

/// <summary>
/// Told of every physical range a device reads or writes (after translation), so a CPU-cache model can check
/// coherency for non-coherent masters (a device read of memory whose latest data sits dirty in a CPU cache, a
/// device write under valid CPU cache lines).
/// </summary>
public interface IDmaAccessObserver
{
    void OnDeviceRead(Device device, PhysAddr addr, ulong length);
    void OnDeviceWrite(Device device, PhysAddr addr, ulong length);
}
