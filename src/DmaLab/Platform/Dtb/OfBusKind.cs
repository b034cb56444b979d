namespace DmaLab.Platform.Dtb;

/// <summary>Bus translators Linux knows (drivers/of/address.c, of_busses[]), matched in this order.</summary>
public enum OfBusKind
{
    /// <summary>device_type pci/pciex/vci/ht, or a node named "pcie": 3 address cells, flags in the first.</summary>
    Pci,
    /// <summary>A node named "isa": 2 address cells, bit 0 of the first selects I/O.</summary>
    Isa,
    /// <summary>Any bus with #address-cells = 3: the first cell carries flags that must match.</summary>
    DefaultFlags,
    /// <summary>Plain address/size numbers.</summary>
    Default,
}
