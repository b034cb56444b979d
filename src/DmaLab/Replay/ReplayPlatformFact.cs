namespace DmaLab.Replay;

/// <summary>
/// One fact about the traced machine the replay used, and where it came from: <c>log</c> (the kernel log given with
/// --dmesg, with its line), <c>trace</c> (inferred from the events), <c>platform</c> (the --platform file),
/// <c>option</c> (a command-line option) or <c>default</c> (assumed, nothing said otherwise).
/// </summary>
public sealed record ReplayPlatformFact(string Name, string Value, string Source, string Detail);
