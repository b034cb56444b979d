namespace DmaLab.Iommu.Hardware;

/// <summary>What a stream's configuration tells the hardware to do with its transactions.</summary>
public enum StreamMode
{
    /// <summary>No valid configuration: the transaction is aborted and a bad-configuration fault recorded (e.g. C_BAD_STE).</summary>
    Invalid,
    /// <summary>Blocked: aborted (SMMU S2CR fault type, STE.Config = abort, VT-d context not present).</summary>
    Abort,
    /// <summary>Untranslated: output address = input address (identity / bypass).</summary>
    Bypass,
    /// <summary>Translated through the page table the configuration points at.</summary>
    Translate,
}
