namespace DmaLab.Platform.KernelLog;

/// <summary>The file cannot be read as kernel log text at all (binary data, I/O failure: the byte offset), or a line
/// the reader takes a fact from says what the kernel could not have printed (the line and column). The message is one
/// line naming the file, the place and what was expected. Lines of a text log the reader does not recognise are not
/// errors: logs are noisy, and they are only counted.</summary>
public sealed class KernelLogFormatException(string message) : Exception(message);
