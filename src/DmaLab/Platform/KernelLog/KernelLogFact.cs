namespace DmaLab.Platform.KernelLog;

/// <summary>One fact the kernel log states, with the (1-based) line of the file it was read from.</summary>
public sealed record KernelLogFact<T>(T Value, long Line);
