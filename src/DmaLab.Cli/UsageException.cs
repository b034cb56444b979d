namespace DmaLab.Cli;

/// <summary>Bad input or usage: printed as one line on stderr, exit code 2, no stack trace.</summary>
public sealed class UsageException(string message) : Exception(message);
