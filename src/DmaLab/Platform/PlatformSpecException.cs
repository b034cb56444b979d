namespace DmaLab.Platform;

/// <summary>A platform description that cannot be used: the message names the file, line and field.</summary>
public sealed class PlatformSpecException(string message) : Exception(message);
