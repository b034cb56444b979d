namespace DmaLab.Platform.Dtb;

/// <summary>Structure block tokens (Devicetree Specification v0.4, section 5.4.1).</summary>
public enum FdtToken : uint
{
    BeginNode = 0x1,
    EndNode = 0x2,
    Prop = 0x3,
    Nop = 0x4,
    End = 0x9,
}
