namespace DmaLab.Trace.TraceCmd;

/// <summary>An event format file as the .dat holds it: its id and name read at once, its fields parsed when a record
/// of it is first met (a file carries the formats of every event of the kernel, about 1500).</summary>
internal sealed record TraceCmdFormatText(string System, int Id, string Name, string Text, long Offset);
