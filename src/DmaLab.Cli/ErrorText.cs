namespace DmaLab.Cli;

/// <summary>Turns an exception into the one line the user sees: our own messages as they are, the runtime's I/O
/// errors as a short reason in our words (the runtime's text and type names never reach the user).</summary>
public static class ErrorText
{
    public static bool IsBadInput(Exception e) => e is UsageException or DmaLab.Platform.PlatformSpecException
        or DmaLab.Platform.Dtb.DtbFormatException or DmaLab.Platform.KernelLog.KernelLogFormatException or DmaLab.Trace.TraceFormatException or IOException or UnauthorizedAccessException;

    /// <summary>Messages quote inputs (names, lines): control characters in them are shown as \xNN (TerminalText).</summary>
    public static string OneLine(Exception e) => TerminalText.Plain((e switch
    {
        UsageException or DmaLab.Platform.PlatformSpecException or DmaLab.Platform.Dtb.DtbFormatException or DmaLab.Platform.KernelLog.KernelLogFormatException
            or DmaLab.Trace.TraceFormatException => e.Message,
        _ => Reason(e),
    }).ReplaceLineEndings(" "));

    /// <summary>Why a file operation failed, in a few words.</summary>
    public static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied",
        FileNotFoundException => "no such file",
        DirectoryNotFoundException => "no such directory",
        PathTooLongException => "path too long",
        EndOfStreamException => "input ends early",
        IOException io when io.HResult == 28 || (io.HResult & 0xffff) == 28 => "no space left on device",
        IOException => "input/output error",
        _ => "an unexpected condition",
    };
}
