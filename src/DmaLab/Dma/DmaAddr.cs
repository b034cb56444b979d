namespace DmaLab.Dma;

/// <summary>A bus address as a device sees it (Linux: dma_addr_t). <see cref="MappingError"/> is DMA_MAPPING_ERROR (~0).</summary>
public readonly record struct DmaAddr(ulong Value) : IComparable<DmaAddr>
{
    /// <summary>Linux: include/linux/dma-mapping.h, DMA_MAPPING_ERROR = ~(dma_addr_t)0.</summary>
    public static readonly DmaAddr MappingError = new(ulong.MaxValue);
    public bool IsError => Value == ulong.MaxValue;
    public static DmaAddr operator +(DmaAddr a, ulong b) => new(a.Value + b);
    public static ulong operator -(DmaAddr a, DmaAddr b) => a.Value - b.Value;
    public int CompareTo(DmaAddr other) => Value.CompareTo(other.Value);
    public override string ToString() => $"0x{Value:x}";
}
