namespace DmaLab.Mm;

/// <summary>Result of a physical memory access. A bus error is a value the caller must handle, never an exception.</summary>
public enum MemAccess
{
    Ok = 0,
    /// <summary>The access touched an address outside DRAM or inside a hole (an external abort / master abort on real hardware).</summary>
    BusError = 1,
}
