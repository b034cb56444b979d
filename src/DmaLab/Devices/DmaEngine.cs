using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Sim;

namespace DmaLab.Devices;

/// <summary>
/// A device's DMA engine: reads and writes memory by bus address through its translation, moving real bytes in
/// <see cref="PhysicalMemory"/>, charging device transfer time, and telling an optional observer (the CPU-cache
/// model) which physical ranges it touched. A transfer stops at the first faulting or unreachable page.
/// </summary>
public sealed class DmaEngine
{
    readonly PhysicalMemory _memory;
    readonly SimClock _clock;
    readonly CostModel _costs;

    public DmaEngine(Device device, IDeviceTranslation translation, PhysicalMemory memory, SimClock clock, CostModel costs, IDmaAccessObserver? observer = null)
    {
        Device = device;
        Translation = translation;
        _memory = memory;
        _clock = clock;
        _costs = costs;
        Observer = observer;
    }

    /// <summary>The engine for a device as booted: through its IOMMU port when it has one, else direct.</summary>
    public static DmaEngine For(Device device, Iommu.IommuSubsystem? iommu, PhysicalMemory memory, SimClock clock, CostModel costs, IDmaAccessObserver? observer = null)
    {
        IDeviceTranslation t = iommu?.TranslationFor(device) is { } tu ? new IommuTranslation(tu.Unit, tu.Port) : new DirectTranslation(device);
        return new DmaEngine(device, t, memory, clock, costs, observer);
    }

    public Device Device { get; }
    public IDeviceTranslation Translation { get; }
    public IDmaAccessObserver? Observer { get; set; }
    public long BytesRead, BytesWritten;

    /// <summary>Device reads memory at <paramref name="addr"/> into <paramref name="dst"/> (a DMA_TO_DEVICE transfer).</summary>
    public DmaTransferResult Read(DmaAddr addr, Span<byte> dst)
    {
        ulong a = addr.Value, done = 0;
        while (done < (ulong)dst.Length)
        {
            if (!Translation.TryTranslate(a, (ulong)dst.Length - done, write: false, out ulong phys, out ulong contiguous))
            {
                BytesRead += (long)done;
                return Stop(Status(a), done, a);
            }
            int n = (int)Math.Min(contiguous, (ulong)dst.Length - done);
            if (_memory.Read(new PhysAddr(phys), dst.Slice((int)done, n)) != MemAccess.Ok) return Stop(DmaStatus.BusError, done, a);
            Observer?.OnDeviceRead(Device, new PhysAddr(phys), (ulong)n);
            done += (ulong)n;
            a += (ulong)n;
        }
        BytesRead += (long)done;
        _clock.Advance(_costs.DeviceTransferNs(done));
        return new DmaTransferResult(DmaStatus.Ok, done, a);
    }

    /// <summary>Device writes <paramref name="src"/> to memory at <paramref name="addr"/> (a DMA_FROM_DEVICE transfer).</summary>
    public DmaTransferResult Write(DmaAddr addr, ReadOnlySpan<byte> src)
    {
        ulong a = addr.Value, done = 0;
        while (done < (ulong)src.Length)
        {
            if (!Translation.TryTranslate(a, (ulong)src.Length - done, write: true, out ulong phys, out ulong contiguous))
            {
                BytesWritten += (long)done;
                return Stop(Status(a), done, a);
            }
            int n = (int)Math.Min(contiguous, (ulong)src.Length - done);
            if (_memory.Write(new PhysAddr(phys), src.Slice((int)done, n)) != MemAccess.Ok) return Stop(DmaStatus.BusError, done, a);
            Observer?.OnDeviceWrite(Device, new PhysAddr(phys), (ulong)n);
            done += (ulong)n;
            a += (ulong)n;
        }
        BytesWritten += (long)done;
        _clock.Advance(_costs.DeviceTransferNs(done));
        return new DmaTransferResult(DmaStatus.Ok, done, a);
    }

    DmaStatus Status(ulong a) => Translation is IommuTranslation ? DmaStatus.IommuFault : DmaStatus.NoRoute;

    DmaTransferResult Stop(DmaStatus status, ulong done, ulong at)
    {
        _clock.Advance(_costs.DeviceTransferNs(done));
        return new DmaTransferResult(status, done, at);
    }
}
