using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>`dmalab replay --csv DIR`: devices.csv, phases.csv, findings.csv and mappings.csv (each device's live
/// mappings and bytes over trace time), for spreadsheets and pandas. Exact values; times in trace seconds.</summary>
public static class ReplayCsv
{
    public static void Write(ReplayReport r, string dir)
    {
        var devices = new Csv("device", "dmaOps", "maps", "unmaps", "singleMaps", "sgMaps", "mapErrors", "bytesMapped", "bytesUnmapped",
            "allocs", "frees", "allocBytes", "syncs", "liveMappingsAtEnd", "liveBytesAtEnd", "peakLiveMappings", "peakLiveBytes", "mapsPerSecond");
        foreach (var d in r.Devices)
            devices.Row(d.Name, d.DmaOps, d.Maps, d.Unmaps, d.SingleMaps, d.SgMaps, d.MapErrors, d.BytesMapped, d.BytesUnmapped,
                d.Allocs, d.Frees, d.AllocBytes, d.Syncs, d.LiveMappingsAtEnd, d.LiveBytesAtEnd, d.PeakLiveMappings, d.PeakLiveBytes, Math.Round(d.MapsPerSecond, 3));
        devices.Save(dir, "devices.csv");

        var phases = new Csv("phase", "line", "startSeconds", "endSeconds", "events", "maps", "unmaps", "bytesMapped", "allocs", "frees",
            "liveMappingsAtStart", "liveMappingsAtEnd", "peakLiveMappings");
        foreach (var p in r.Phases)
            phases.Row(p.Name, p.Line, p.StartNs / 1e9, p.EndNs / 1e9, p.Events, p.Maps, p.Unmaps, p.BytesMapped, p.Allocs, p.Frees,
                p.LiveMappingsAtStart, p.LiveMappingsAtEnd, p.PeakLiveMappings);
        phases.Save(dir, "phases.csv");

        var findings = new Csv("kind", "informational", "device", "line", "address", "message");
        foreach (var f in r.Findings)
            findings.Row(f.Kind, ReplayFindingKinds.IsInformational(f.Kind), f.Device, f.Line, Csv.Hex(f.Address), f.Message);
        findings.Save(dir, "findings.csv");

        var mappings = new Csv("device", "timeSeconds", "liveMappings", "liveBytes");
        foreach (var d in r.Devices)
            foreach (var s in d.LiveSeries)
                mappings.Row(d.Name, s.TimeNs / 1e9, s.Mappings, s.Bytes);
        mappings.Save(dir, "mappings.csv");
    }
}
