namespace DmaLab.Replay;

/// <summary>
/// Optional for an <see cref="IReplayModel"/>: says, for one trace line, what it decided and from what (the path,
/// the domain and its policy, where the allocator's answer came from, the flush queue's state and the flush instants
/// it placed before), for `dmalab replay --explain LINE`.
/// </summary>
public interface IReplayExplain
{
    void ExplainLine(long line, Action<string> say);
}
