namespace DmaLab.Mm;

/// <summary>
/// The owner's reference to a movable allocation. The kernel finds a migrated page through its rmap and page
/// tables; the model gives the owner a handle instead and resolves it to the current address, so migration
/// (compaction, CMA) can move the bytes without the owner noticing. Default is "no handle".
/// </summary>
public readonly record struct MovableHandle(int Index, int Generation)
{
    public bool IsValid => Generation != 0;
}
