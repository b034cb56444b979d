using System.Text;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>
/// The TP_printk text of the dma:* events of Linux 6.18 (include/trace/events/dma.h): dma_map_phys,
/// dma_unmap_phys, dma_map_sg (arrays cut at DMA_TRACE_MAX_ENTRIES = 128 with " [TRUNCATED]"), dma_map_sg_err,
/// dma_unmap_sg, dma_sync_single_for_*, dma_sync_sg_for_*, dma_alloc, dma_alloc_pages, dma_free, dma_free_pages.
/// Only called when the sink is enabled.
/// </summary>
public static class DmaTrace
{
    public const int MaxEntries = 128;

    /// <summary>decode_dma_attrs(): __print_flags with "|" in the kernel's table order; empty for none.</summary>
    public static string Attrs(DmaAttrs attrs)
    {
        if (attrs == DmaAttrs.None) return "";
        var sb = new StringBuilder();
        void F(DmaAttrs f, string n) { if ((attrs & f) == 0) return; if (sb.Length > 0) sb.Append('|'); sb.Append(n); attrs &= ~f; }
        F(DmaAttrs.WeakOrdering, "WEAK_ORDERING");
        F(DmaAttrs.WriteCombine, "WRITE_COMBINE");
        F(DmaAttrs.NoKernelMapping, "NO_KERNEL_MAPPING");
        F(DmaAttrs.SkipCpuSync, "SKIP_CPU_SYNC");
        F(DmaAttrs.ForceContiguous, "FORCE_CONTIGUOUS");
        F(DmaAttrs.AllocSinglePages, "ALLOC_SINGLE_PAGES");
        F(DmaAttrs.NoWarn, "NO_WARN");
        F(DmaAttrs.Privileged, "PRIVILEGED");
        F(DmaAttrs.Mmio, "MMIO");
        if (attrs != 0) { if (sb.Length > 0) sb.Append('|'); sb.Append("0x").Append(((ulong)attrs).ToString("x")); }
        return sb.ToString();
    }

    /// <summary>show_gfp_flags() for the masks the DMA API passes ("GFP_KERNEL", "GFP_ATOMIC|__GFP_NOWARN|__GFP_ZERO").</summary>
    public static string GfpFlags(Gfp gfp)
    {
        var sb = new StringBuilder((gfp & Gfp.DirectReclaim) != 0 ? "GFP_KERNEL" : "GFP_ATOMIC");
        if ((gfp & Gfp.Dma) != 0) sb.Append("|GFP_DMA");
        if ((gfp & Gfp.Dma32) != 0) sb.Append("|GFP_DMA32");
        if ((gfp & Gfp.NoWarn) != 0) sb.Append("|__GFP_NOWARN");
        if ((gfp & Gfp.Zero) != 0) sb.Append("|__GFP_ZERO");
        if ((gfp & Gfp.Movable) != 0) sb.Append("|__GFP_MOVABLE");
        return sb.ToString();
    }

    /// <summary>%p of a hashed kernel pointer: 16 hex digits (the model prints its own address unhashed).</summary>
    static string Ptr(CpuAddr p) => p.Value.ToString("x16");

    public static string MapPhys(Device dev, PhysAddr phys, DmaAddr dma, ulong size, DmaDirection dir, DmaAttrs attrs) =>
        $"{dev.Name} dir={dir.ToKernelString()} dma_addr={dma.Value:x} size={size} phys_addr={phys.Value:x} attrs={Attrs(attrs)}";

    public static string UnmapPhys(Device dev, DmaAddr dma, ulong size, DmaDirection dir, DmaAttrs attrs) =>
        $"{dev.Name} dir={dir.ToKernelString()} dma_addr={dma.Value:x} size={size} attrs={Attrs(attrs)}";

    public static string SyncSingle(Device dev, DmaAddr dma, ulong size, DmaDirection dir) =>
        $"{dev.Name} dir={dir.ToKernelString()} dma_addr={dma.Value:x} size={size}";

    public static string Alloc(Device dev, CpuAddr virt, DmaAddr dma, ulong size, DmaDirection dir, Gfp gfp, DmaAttrs attrs) =>
        $"{dev.Name} dir={dir.ToKernelString()} dma_addr={(virt.IsNull ? 0 : dma.Value):x} size={size} virt_addr={Ptr(virt)} flags={GfpFlags(gfp)} attrs={Attrs(attrs)}";

    public static string Free(Device dev, CpuAddr virt, DmaAddr dma, ulong size, DmaDirection dir, DmaAttrs attrs) =>
        $"{dev.Name} dir={dir.ToKernelString()} dma_addr={dma.Value:x} size={size} virt_addr={Ptr(virt)} attrs={Attrs(attrs)}";

    static void Array(StringBuilder sb, Scatterlist sg, int n, int what)
    {
        sb.Append('{');
        for (int i = 0; i < n; i++)
        {
            if (i > 0) sb.Append(',');
            ref var e = ref sg[i];
            switch (what)
            {
                case 0: sb.Append("0x").Append(e.DmaAddress.Value.ToString("x")); break;
                case 1: sb.Append("0x").Append(e.DmaLength.ToString("x")); break;
                default: sb.Append("0x").Append(e.Phys.Value.ToString("x")); break;
            }
        }
        sb.Append('}');
    }

    public static string MapSg(Device dev, Scatterlist sg, int nents, int ents, DmaDirection dir, DmaAttrs attrs)
    {
        int tn = Math.Min(nents, MaxEntries), te = Math.Min(ents, MaxEntries);
        var sb = new StringBuilder(64 + 40 * (tn + te));
        sb.Append(dev.Name).Append(" dir=").Append(dir.ToKernelString())
          .Append(" nents=").Append(tn).Append('/').Append(nents).Append(" ents=").Append(te).Append('/').Append(ents);
        if (nents > MaxEntries || ents > MaxEntries) sb.Append(" [TRUNCATED]");
        sb.Append(" dma_addrs="); Array(sb, sg, te, 0);
        sb.Append(" sizes="); Array(sb, sg, te, 1);
        sb.Append(" phys_addrs="); Array(sb, sg, tn, 2);
        sb.Append(" attrs=").Append(Attrs(attrs));
        return sb.ToString();
    }

    public static string MapSgErr(Device dev, Scatterlist sg, int nents, int err, DmaDirection dir, DmaAttrs attrs)
    {
        var sb = new StringBuilder();
        sb.Append(dev.Name).Append(" dir=").Append(dir.ToKernelString()).Append(" dma_addrs=");
        Array(sb, sg, nents, 2);
        sb.Append(" err=").Append(err).Append(" attrs=").Append(Attrs(attrs));
        return sb.ToString();
    }

    public static string UnmapSg(Device dev, Scatterlist sg, int nents, DmaDirection dir, DmaAttrs attrs)
    {
        var sb = new StringBuilder();
        sb.Append(dev.Name).Append(" dir=").Append(dir.ToKernelString()).Append(" phys_addrs=");
        Array(sb, sg, nents, 2);
        sb.Append(" attrs=").Append(Attrs(attrs));
        return sb.ToString();
    }

    public static string SyncSg(Device dev, Scatterlist sg, int nents, DmaDirection dir)
    {
        var sb = new StringBuilder();
        sb.Append(dev.Name).Append(" dir=").Append(dir.ToKernelString()).Append(" dma_addrs=");
        Array(sb, sg, nents, 0);
        sb.Append(" sizes=");
        Array(sb, sg, nents, 1);
        return sb.ToString();
    }
}
