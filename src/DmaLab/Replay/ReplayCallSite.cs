namespace DmaLab.Replay;

/// <summary>
/// One kernel call path that made mappings, from the stacks ftrace recorded with options/stacktrace: the caller
/// outside the DMA API (<see cref="Function"/>, e.g. "nvme_map_data+0x2c8/0x980 [nvme]"), the whole stack, and what
/// its mappings did: calls, how many (and how many bytes) were still live at the end of the trace, and the findings
/// raised on events with this stack.
/// </summary>
public sealed record ReplayCallSite(string Function, IReadOnlyList<string> Stack, string Device, long Maps, long LiveAtEnd,
    long LiveBytesAtEnd, long Findings);
