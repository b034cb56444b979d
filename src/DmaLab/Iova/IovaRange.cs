namespace DmaLab.Iova;

/// <summary>
/// One allocated or reserved range as the caller sees it (Linux: struct iova's pfn_lo/pfn_hi). <see cref="Node"/> is
/// the tree handle for <see cref="IovaDomain.FreeIova(IovaRange)"/>; a null range (allocation failure) has Node -1.
/// </summary>
public readonly record struct IovaRange(ulong PfnLo, ulong PfnHi, int Node)
{
    public static readonly IovaRange Null = new(0, 0, -1);
    public bool IsNull => Node < 0;
    public ulong Pages => PfnHi - PfnLo + 1;
    public override string ToString() => IsNull ? "NULL" : $"[0x{PfnLo:x}..0x{PfnHi:x}]";
}
