namespace DmaLab.Replay;

/// <summary>The findings of one kind on one device: how many, whether they fail `--check`, and where the first is.</summary>
public sealed record ReplayFindingGroup(string Kind, string Device, long Count, bool Informational, long FirstLine);

/// <summary>Which finding kinds are informational (reported, never a failure): a mapping alive when tracing stopped
/// is normal for rings and long-lived buffers; only a <c>leak</c> (with evidence) or an error fails `--check`.</summary>
public static class ReplayFindingKinds
{
    public const string LiveAtEnd = "live-at-end";
    public const string Leak = "leak";
    public const string LeakGrowth = "leak-growth";

    public static bool IsInformational(string kind) => kind == LiveAtEnd;
}
