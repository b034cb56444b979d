using DmaLab.Analysis;

namespace DmaLab.Workloads;

/// <summary>Moves what a run raised (dma-debug, API and ops WARNs, cache coherency, IOMMU core) into its result.</summary>
public static class WorkloadFindings
{
    public static void Collect(WorkloadContext ctx, WorkloadResult r)
    {
        r.Findings.AddRange(ctx.Api.TakeFindings());
        if (ctx.Api.Debug is { } dbg) r.Findings.AddRange(dbg.TakeFindings());
        r.Findings.AddRange(ctx.Cache.TakeFindings());
        if (ctx.Direct is { } d) r.Findings.AddRange(d.TakeFindings());
        r.Findings.AddRange(ctx.ExtraFindings());
        if (ctx.Iommu is { } core)
        {
            r.Findings.AddRange(core.Findings);
            core.Findings.Clear();
        }
        foreach (var n in ctx.BootNotes) if (!r.Notes.Contains(n)) r.Notes.Add(n);
    }
}
