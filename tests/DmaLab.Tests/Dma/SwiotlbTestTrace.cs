using DmaLab.Dma;
using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Dma;

/// <summary>The dma:* and swiotlb:* field helpers of the swiotlb golden test, over <see cref="SampleTraceText"/>.</summary>
static class SwiotlbTestTrace
{
    /// <summary>Every event line of a capture; a line that is not one fails the test with its line number.</summary>
    public static List<SampleTraceLine> ReadXz(string relative) => SampleTraceText.Events(relative, strict: true).ToList();

    /// <summary>The device name: the first token (dma:* events) or the one after "dev_name:" (swiotlb_bounced).</summary>
    public static string Device(string fields) =>
        fields.StartsWith("dev_name: ", StringComparison.Ordinal) ? fields[10..fields.IndexOf(' ', 10)] : fields[..fields.IndexOf(' ')];

    public static DmaDirection Dir(string fields) =>
        DmaDirectionNames.TryParse(SampleTraceText.Field(fields, "dir"), out var d) ? d : throw new FormatException($"no dir= in '{fields}'");

    public static DmaAttrs Attrs(string fields)
    {
        var a = SampleTraceText.Field(fields, "attrs") ?? "";
        var r = DmaAttrs.None;
        foreach (var name in a.Split('|', StringSplitOptions.RemoveEmptyEntries))
            r |= name switch
            {
                "WEAK_ORDERING" => DmaAttrs.WeakOrdering, "WRITE_COMBINE" => DmaAttrs.WriteCombine,
                "NO_KERNEL_MAPPING" => DmaAttrs.NoKernelMapping, "SKIP_CPU_SYNC" => DmaAttrs.SkipCpuSync,
                "FORCE_CONTIGUOUS" => DmaAttrs.ForceContiguous, "ALLOC_SINGLE_PAGES" => DmaAttrs.AllocSinglePages,
                "NO_WARN" => DmaAttrs.NoWarn, "PRIVILEGED" => DmaAttrs.Privileged,
                _ => throw new FormatException($"unknown attr {name}"),
            };
        return r;
    }
}

/// <summary>A trace sink that keeps every event (tests only).</summary>
sealed class CapturingTraceSink : ITraceSink
{
    public List<(int Cpu, string System, string Event, string Fields)> Events { get; } = new();
    public bool Enabled => true;
    public void Write(int cpu, string system, string eventName, string fields) => Events.Add((cpu, system, eventName, fields));
}
