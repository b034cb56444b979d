namespace DmaLab.Cli;

/// <summary>Exit codes of every dmalab command (DESIGN.md).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>Findings exist and --check asked for failure on findings.</summary>
    public const int Findings = 1;
    public const int BadInput = 2;
    /// <summary>A DmaLab bug (an exception that is not about the input); sysexits' EX_SOFTWARE.</summary>
    public const int Internal = 70;
}
