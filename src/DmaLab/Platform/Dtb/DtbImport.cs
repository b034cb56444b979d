namespace DmaLab.Platform.Dtb;

/// <summary>The result of importing a device tree: a runnable platform and the report the CLI prints.</summary>
public sealed record DtbImport(PlatformSpec Platform, DtbImportReport Report, DeviceTree Tree);
