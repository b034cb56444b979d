using System.CommandLine;
using System.CommandLine.Help;
using DmaLab.Cli.Commands;

namespace DmaLab.Cli;

/// <summary>dmalab: parses the command line, calls the library, renders. Bad input is one line on stderr and exit 2.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        var root = CreateRoot();
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0 || ParseErrors.UnknownOption(parsed) is not null)
        {
            Console.Error.WriteLine($"dmalab: {TerminalText.Plain(ParseErrors.OneLine(parsed))}");
            return ExitCodes.BadInput;
        }
        try
        {
            Terminal.Configure(parsed.GetValue<int?>("--width"));
            return parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e) when (ErrorText.IsBadInput(e))
        {
            Console.Error.WriteLine($"dmalab: {ErrorText.OneLine(e)}");
            return ExitCodes.BadInput;
        }
        catch (Exception e) when (Environment.GetEnvironmentVariable("DMALAB_DEBUG") is null)
        {
            // A DmaLab bug, not bad input: one line that says so; DMALAB_DEBUG=1 shows the stack.
            Console.Error.WriteLine($"dmalab: internal error ({ErrorText.OneLine(e)}); please report it with the command line (DMALAB_DEBUG=1 shows where)");
            return ExitCodes.Internal;
        }
    }

    /// <summary>The command tree. The root is named "dmalab" whatever the executable is called (dotnet run, the
    /// DmaLab.Cli.dll, or the installed tool), so help and errors always say dmalab.</summary>
    public static Command CreateRoot()
    {
        var root = new Command("dmalab", "DmaLab executes the Linux DMA-mapping and IOMMU framework as a deterministic, byte-accurate model of a machine.")
        {
            new HelpOption(),
            new VersionOption(),
            CommonOptions.Width(),
            RunCommand.Create(),
            ReplayCommand.Create(),
            DiffCommand.Create(),
            CompareCommand.Create(),
            BenchCommand.Create(),
            PlatformCommand.Create(),
        };
        root.Subcommands.Add(CompletionCommand.Create(root));
        return root;
    }
}
