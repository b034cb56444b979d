namespace DmaLab.Mm;

/// <summary>A page frame number (Linux: unsigned long pfn, 4 KiB pages).</summary>
public readonly record struct Pfn(ulong Value) : IComparable<Pfn>
{
    public PhysAddr Address => new(Value << PhysAddr.PageShift);
    public static Pfn operator +(Pfn a, ulong b) => new(a.Value + b);
    public static Pfn operator -(Pfn a, ulong b) => new(a.Value - b);
    public static bool operator <(Pfn a, Pfn b) => a.Value < b.Value;
    public static bool operator >(Pfn a, Pfn b) => a.Value > b.Value;
    public static bool operator <=(Pfn a, Pfn b) => a.Value <= b.Value;
    public static bool operator >=(Pfn a, Pfn b) => a.Value >= b.Value;
    public int CompareTo(Pfn other) => Value.CompareTo(other.Value);
    public override string ToString() => $"pfn 0x{Value:x}";
}
