using System.CommandLine;
using DmaLab.Cli.Commands;

namespace DmaLab.Cli;

/// <summary>dmalab: parses the command line, calls the library, renders. Bad input is one line on stderr and exit 2.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = new RootCommand("DmaLab executes the Linux DMA-mapping and IOMMU framework as a deterministic, byte-accurate model of a machine.")
        {
            RunCommand.Create(),
            ReplayCommand.Create(),
            CompareCommand.Create(),
            BenchCommand.Create(),
            PlatformCommand.Create(),
        };
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            Console.Error.WriteLine($"dmalab: {parsed.Errors[0].Message} (see dmalab --help)");
            return ExitCodes.BadInput;
        }
        try
        {
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (IsBadInput(e))
        {
            Console.Error.WriteLine($"dmalab: {OneLine(e.Message)}");
            return ExitCodes.BadInput;
        }
    }

    static bool IsBadInput(Exception e) => e is UsageException or DmaLab.Platform.PlatformSpecException
        or DmaLab.Platform.Dtb.DtbFormatException or DmaLab.Platform.KernelLog.KernelLogFormatException or DmaLab.Trace.TraceFormatException or IOException or UnauthorizedAccessException;

    static string OneLine(string s) => s.ReplaceLineEndings(" ");
}
