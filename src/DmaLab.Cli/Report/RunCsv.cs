using DmaLab.Analysis;

namespace DmaLab.Cli.Report;

/// <summary>`dmalab run --csv DIR`: devices.csv (DMA setup per device), metrics.csv (every workload figure),
/// findings.csv and series.csv (the plotted series, e.g. live mappings over virtual time).</summary>
public static class RunCsv
{
    public static void Write(RunReport r, string dir)
    {
        var devices = new Csv("device", "ops", "domain", "group", "reason", "flushQueue");
        foreach (var d in r.Devices) devices.Row(d.Device, d.Ops, d.Domain, d.Group, d.Reason, d.FlushQueue?.Type);
        devices.Save(dir, "devices.csv");

        var metrics = new Csv("workload", "variant", "metric", "value", "unit");
        foreach (var w in r.Workloads)
            foreach (var m in w.Metrics) metrics.Row(w.Name, w.Variant, m.Name, m.Value, m.Unit);
        metrics.Save(dir, "metrics.csv");

        var findings = new Csv("workload", "variant", "kind", "device", "address", "message");
        foreach (var w in r.Workloads)
            foreach (var f in w.Findings) findings.Row(w.Name, w.Variant, f.Kind, f.Device, Csv.Hex(f.Address), f.Message);
        findings.Save(dir, "findings.csv");

        var series = new Csv("workload", "variant", "series", "x", "y");
        foreach (var w in r.Workloads)
            foreach (var (name, points) in w.Series)
                foreach (var (x, y) in points) series.Row(w.Name, w.Variant, name, x, y);
        series.Save(dir, "series.csv");
    }
}
