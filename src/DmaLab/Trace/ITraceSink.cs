namespace DmaLab.Trace;

/// <summary>
/// Where model components emit kernel-format trace events. Each emitter formats its own fields exactly as the
/// kernel's TP_printk does (include/trace/events/dma.h, iommu.h, swiotlb.h); the sink adds the
/// "TASK-PID [CPU] FLAGS TIMESTAMP: " prefix from the simulation clock. Check <see cref="Enabled"/> first so the
/// hot path formats nothing when tracing is off.
/// </summary>
public interface ITraceSink
{
    bool Enabled { get; }
    /// <param name="cpu">CPU the call ran on</param>
    /// <param name="system">"dma", "iommu" or "swiotlb" (trace-cmd style prefix; tracefs text prints only the event name)</param>
    /// <param name="eventName">e.g. "dma_map_phys"</param>
    /// <param name="fields">the TP_printk output, e.g. "0000:00:04.0 dir=TO_DEVICE dma_addr=... "</param>
    void Write(int cpu, string system, string eventName, string fields);
}

/// <summary>A sink that drops everything.</summary>
public sealed class NullTraceSink : ITraceSink
{
    public static readonly NullTraceSink Instance = new();
    public bool Enabled => false;
    public void Write(int cpu, string system, string eventName, string fields) { }
}
