namespace DmaLab.Iova;

/// <summary>An I/O virtual address inside an IOMMU domain (Linux: unsigned long iova).</summary>
public readonly record struct Iova(ulong Value) : IComparable<Iova>
{
    public static Iova operator +(Iova a, ulong b) => new(a.Value + b);
    public static ulong operator -(Iova a, Iova b) => a.Value - b.Value;
    public int CompareTo(Iova other) => Value.CompareTo(other.Value);
    public override string ToString() => $"0x{Value:x}";
}
