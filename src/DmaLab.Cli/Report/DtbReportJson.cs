using System.Text;
using System.Text.Json;
using DmaLab.Platform.Dtb;

namespace DmaLab.Cli.Report;

/// <summary>
/// Writes a <see cref="DtbImportReport"/> as the JSON of the `platform import --json` contract: camelCase names,
/// fields in a fixed order, lists in tree order, so the same tree always gives the same bytes.
/// </summary>
public static class DtbReportJson
{
    public static string Serialize(DtbImportReport report, string? file = null, bool indented = false)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = indented }))
            Write(w, report, file);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    /// <summary>The error line for a file that failed: {"file": ..., "error": ...}.</summary>
    public static string SerializeError(string file, string error)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", JsonSchemaVersion.Current);
            w.WriteString("file", file);
            w.WriteString("error", error);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    public static void Write(Utf8JsonWriter w, DtbImportReport r, string? file = null)
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", JsonSchemaVersion.Current);
        if (file is not null) w.WriteString("file", file);
        w.WriteString("model", r.Model);
        Strings(w, "compatible", r.Compatible);
        w.WriteStartArray("iommus");
        foreach (var i in r.Iommus)
        {
            w.WriteStartObject();
            w.WriteString("path", i.Path);
            w.WriteString("name", i.Name);
            w.WriteString("compatible", i.Compatible);
            w.WriteString("driver", i.Driver);
            w.WriteNumber("cells", i.Cells);
            w.WriteBoolean("enabled", i.Enabled);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("masters");
        foreach (var m in r.Masters)
        {
            w.WriteStartObject();
            w.WriteString("path", m.Path);
            w.WriteString("name", m.Name);
            if (m.Iommu is null) w.WriteNull("iommu"); else w.WriteString("iommu", m.Iommu);
            Numbers(w, "ids", m.Ids);
            w.WriteStartArray("iommus");
            foreach (var e in m.IommuRefs)
            {
                w.WriteStartObject();
                w.WriteString("iommu", e.Iommu);
                Numbers(w, "ids", e.Ids);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("coherent", m.Coherent);
            w.WriteStartArray("dmaRanges");
            foreach (var d in m.DmaRanges)
            {
                w.WriteStartObject();
                w.WriteNumber("busAddr", d.BusAddr);
                w.WriteNumber("cpuAddr", d.CpuAddr);
                w.WriteNumber("size", d.Size);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("mask", m.Mask);
            w.WriteNumber("busDmaLimit", m.BusDmaLimit);
            w.WriteBoolean("enabled", m.Enabled);
            if (m.IommuMap.Count > 0)
            {
                w.WriteStartArray("iommuMap");
                foreach (var e in m.IommuMap)
                {
                    w.WriteStartObject();
                    w.WriteNumber("ridBase", e.RidBase);
                    if (e.Iommu is null) w.WriteNull("iommu"); else w.WriteString("iommu", e.Iommu);
                    w.WriteNumber("iommuBase", e.IommuBase);
                    w.WriteNumber("length", e.Length);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("iommuMapMask", m.IommuMapMask ?? 0xffffffffu);
            }
            if (m.MemoryRegion is not null) w.WriteString("memoryRegion", m.MemoryRegion);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("reservedMemory");
        foreach (var m in r.ReservedMemory)
        {
            w.WriteStartObject();
            w.WriteString("path", m.Path);
            if (m.Base is { } b) w.WriteNumber("base", b); else w.WriteNull("base");
            w.WriteNumber("size", m.Size);
            w.WriteNumber("alignment", m.Alignment);
            w.WriteString("compatible", m.Compatible);
            w.WriteBoolean("reusable", m.Reusable);
            w.WriteBoolean("noMap", m.NoMap);
            w.WriteBoolean("cmaDefault", m.CmaDefault);
            Strings(w, "devices", m.Devices);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        Strings(w, "notes", r.Notes);
        w.WriteEndObject();
    }

    static void Strings(Utf8JsonWriter w, string name, List<string> list)
    {
        w.WriteStartArray(name);
        foreach (var s in list) w.WriteStringValue(s);
        w.WriteEndArray();
    }

    static void Numbers(Utf8JsonWriter w, string name, List<uint> list)
    {
        w.WriteStartArray(name);
        foreach (var v in list) w.WriteNumberValue(v);
        w.WriteEndArray();
    }
}
