namespace DmaLab.Mm;

/// <summary>A CPU physical address (Linux: phys_addr_t). Zero-cost wrapper so units never mix.</summary>
public readonly record struct PhysAddr(ulong Value) : IComparable<PhysAddr>
{
    public const int PageShift = 12;
    public const ulong PageSize = 1UL << PageShift;

    public Pfn Pfn => new(Value >> PageShift);
    public ulong PageOffset => Value & (PageSize - 1);
    public PhysAddr PageAligned => new(Value & ~(PageSize - 1));
    public static PhysAddr operator +(PhysAddr a, ulong b) => new(a.Value + b);
    public static PhysAddr operator -(PhysAddr a, ulong b) => new(a.Value - b);
    public static ulong operator -(PhysAddr a, PhysAddr b) => a.Value - b.Value;
    public static bool operator <(PhysAddr a, PhysAddr b) => a.Value < b.Value;
    public static bool operator >(PhysAddr a, PhysAddr b) => a.Value > b.Value;
    public static bool operator <=(PhysAddr a, PhysAddr b) => a.Value <= b.Value;
    public static bool operator >=(PhysAddr a, PhysAddr b) => a.Value >= b.Value;
    public int CompareTo(PhysAddr other) => Value.CompareTo(other.Value);
    public override string ToString() => $"0x{Value:x}";
}
