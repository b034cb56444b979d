namespace DmaLab.Replay;

/// <summary>
/// The stretch of trace between one user marker (tracing_mark_write) and the next: what happened in it. The stretch
/// before the first marker is the phase named "(start)".
/// </summary>
public sealed class ReplayPhase
{
    public string Name { get; internal set; } = "";
    public long Line { get; internal set; }
    public ulong StartNs { get; internal set; }
    public ulong EndNs { get; internal set; }
    public long Maps { get; internal set; }
    public long Unmaps { get; internal set; }
    public ulong BytesMapped { get; internal set; }
    public long Allocs { get; internal set; }
    public long Frees { get; internal set; }
    public long Events { get; internal set; }
    public long LiveMappingsAtStart { get; internal set; }
    public long LiveMappingsAtEnd { get; internal set; }
    public long PeakLiveMappings { get; internal set; }
}
