namespace DmaLab.Mm;

/// <summary>A half-open physical range [Base, Base+Size).</summary>
public readonly record struct MemRange(PhysAddr Base, ulong Size)
{
    public PhysAddr End => Base + Size;
    public bool Contains(PhysAddr a) => a >= Base && a.Value - Base.Value < Size;
    public bool Contains(PhysAddr a, ulong len) => a >= Base && len <= Size && a.Value - Base.Value <= Size - len;
    public bool Overlaps(MemRange o) => Base < o.End && o.Base < End;
    public override string ToString() => $"[0x{Base.Value:x}-0x{End.Value - 1:x}]";
}
