using System.Globalization;
using DmaLab.Replay;

namespace DmaLab.Cli.Report;

/// <summary>One figure of a diff: its name, A's value, B's value (null: not there, e.g. a device only one side has).</summary>
public sealed record DiffFigure(string Name, string Unit, double? A, double? B)
{
    public double? Change => A is double a && B is double b ? b - a : null;

    /// <summary>"+12 (+3.4 %)" in the figure's unit, "=" when equal, "new"/"gone" when one side lacks it, "-" when
    /// neither has it.</summary>
    public string ChangeText => (A, B) switch
    {
        (null, null) => "-",
        (null, not null) => "new",
        (not null, null) => "gone",
        (double a, double b) when a == b => "=",
        (double a, double b) => (b > a ? "+" : "-") + ReplayDiffOutput.Value(Math.Abs(b - a), Unit)
            + (a != 0 ? $" ({((b - a) / Math.Abs(a) * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture)} %)" : ""),
    };
}

/// <summary>A device's figures on both sides.</summary>
public sealed record DiffDevice(string Name, IReadOnlyList<DiffFigure> Figures);

/// <summary>
/// Two replays side by side (`dmalab diff A B`): two traces, or one trace under two policies. Per device: maps,
/// bytes mapped, live at end, findings that fail --check, bounced maps, swiotlb bounces, IOMMU maps. Per machine:
/// the model's IOTLB, invalidation, IOVA and bounce figures (measured for a what-if policy, estimated as traced).
/// </summary>
public sealed class ReplayDiff
{
    public required string LabelA { get; init; }
    public required string LabelB { get; init; }
    public required ReplayReport A { get; init; }
    public required ReplayReport B { get; init; }
    public List<DiffDevice> Devices { get; } = new();
    public List<DiffFigure> Machine { get; } = new();
    public List<DiffFigure> Totals { get; } = new();

    public static ReplayDiff Build(string labelA, ReplayReport a, string labelB, ReplayReport b)
    {
        var d = new ReplayDiff { LabelA = labelA, LabelB = labelB, A = a, B = b };
        var names = a.Devices.Select(x => x.Name).Concat(b.Devices.Select(x => x.Name)).Distinct().ToList();
        foreach (var name in names)
        {
            var da = a.Devices.FirstOrDefault(x => x.Name == name);
            var db = b.Devices.FirstOrDefault(x => x.Name == name);
            d.Devices.Add(new DiffDevice(name,
            [
                F("maps", "count", da?.Maps, db?.Maps),
                F("bytes mapped", "bytes", da?.BytesMapped, db?.BytesMapped),
                F("live at end", "count", da?.LiveMappingsAtEnd, db?.LiveMappingsAtEnd),
                F("live bytes at end", "bytes", da?.LiveBytesAtEnd, db?.LiveBytesAtEnd),
                F("findings (leaks, errors)", "count", da is null ? null : Failing(a, name), db is null ? null : Failing(b, name)),
                F("bounced maps", "count", da?.BouncedMaps, db?.BouncedMaps),
                F("swiotlb bounces", "count", da?.SwiotlbBounces, db?.SwiotlbBounces),
                F("iommu maps", "count", da?.IommuMaps, db?.IommuMaps),
            ]));
        }
        d.Totals.Add(F("event lines", "count", a.Lines, b.Lines));
        d.Totals.Add(F("maps", "count", a.Maps, b.Maps));
        d.Totals.Add(F("live mappings at end", "count", a.LiveMappingsAtEnd, b.LiveMappingsAtEnd));
        d.Totals.Add(F("findings (leaks, errors)", "count", a.FailingFindings, b.FailingFindings));
        d.Totals.Add(F("dma_addr compared", "count", a.Fidelity.Compared, b.Fidelity.Compared));
        d.Totals.Add(F("dma_addr matched", "count", a.Fidelity.Matched, b.Fidelity.Matched));
        var ma = Stats(a);
        var mb = Stats(b);
        if (ma is not null || mb is not null)
        {
            // Lookups and walks exist only where the device side was run (a measured what-if); as traced they are unknown.
            d.Machine.Add(F("IOTLB lookups", "count", Measured(ma)?.IotlbLookups, Measured(mb)?.IotlbLookups));
            d.Machine.Add(F(ma?.Measured == false || mb?.Measured == false ? "IOTLB misses (est. as traced)" : "IOTLB misses", "count", ma?.IotlbMisses, mb?.IotlbMisses));
            d.Machine.Add(F("page walks", "count", Measured(ma)?.PageWalks, Measured(mb)?.PageWalks));
            d.Machine.Add(F("IOTLB invalidations", "count", ma?.Invalidations, mb?.Invalidations));
            d.Machine.Add(F("flush-queue flushes", "count", ma?.FlushQueueFlushes, mb?.FlushQueueFlushes));
            d.Machine.Add(F("IOVA allocations", "count", ma?.IovaAllocs, mb?.IovaAllocs));
            d.Machine.Add(F("bounced bytes", "bytes", ma?.BounceBytes, mb?.BounceBytes));
            d.Machine.Add(F("stale IOTLB hits", "count", ma?.StaleHits, mb?.StaleHits));
            d.Machine.Add(F("estimated DMA-API time", "ns", ma?.EstimatedNs, mb?.EstimatedNs));
        }
        return d;
    }

    /// <summary>The model figures of a side: the what-if's when a policy was asked, else the as-traced model's.</summary>
    public static ReplayModelStats? Stats(ReplayReport r) => r.WhatIf?.WhatIf ?? r.Model;

    /// <summary>"lazy (measured)" or "as traced (estimated)": how a side's machine figures were obtained.</summary>
    public static string How(ReplayReport r) => Stats(r) is { } s ? $"{s.Policy}{(s.Measured ? ", measured" : ", estimated")}" : "no model";

    static ReplayModelStats? Measured(ReplayModelStats? s) => s is { Measured: true } ? s : null;

    static long Failing(ReplayReport r, string device) => r.FindingGroups.Where(g => g.Device == device && !g.Informational).Sum(g => g.Count);

    static DiffFigure F(string name, string unit, double? a, double? b) => new(name, unit, a, b);
}
