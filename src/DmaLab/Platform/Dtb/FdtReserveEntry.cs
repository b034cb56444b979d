namespace DmaLab.Platform.Dtb;

/// <summary>One memory reservation block entry (/memreserve/; Devicetree Specification v0.4, section 5.3).</summary>
public readonly record struct FdtReserveEntry(ulong Address, ulong Size);
