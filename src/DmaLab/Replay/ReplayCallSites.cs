namespace DmaLab.Replay;

/// <summary>
/// Call sites by stack (see <see cref="ReplayCallSite"/>): each distinct stack gets an id the first time a mapping or
/// allocation carries it; mappings remember the id so their end, or their still being live at the end, is charged to
/// the stack that made them. Events without a stack (traces without options/stacktrace) cost one length test.
/// </summary>
internal sealed class ReplayCallSites
{
    sealed class Site
    {
        public required string Stack;
        public required string Device;
        public long Maps, Live, LiveBytes, Findings;
    }

    readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    readonly List<Site> _sites = new();

    public int Count => _sites.Count;

    /// <summary>A mapping of <paramref name="size"/> bytes was made with <paramref name="stack"/>: its site id
    /// (1-based; 0 = no stack).</summary>
    public int OnMap(string stack, string device, ulong size)
    {
        if (stack.Length == 0) return 0;
        var s = _sites[Id(stack, device) - 1];
        s.Maps++;
        s.Live++;
        s.LiveBytes += (long)size;
        return _ids[stack];
    }

    /// <summary>A mapping made at <paramref name="site"/> ended.</summary>
    public void OnEnd(int site, ulong size)
    {
        if (site == 0) return;
        var s = _sites[site - 1];
        s.Live--;
        s.LiveBytes -= (long)size;
    }

    public void OnFinding(string stack, string device)
    {
        if (stack.Length == 0) return;
        _sites[Id(stack, device) - 1].Findings++;
    }

    int Id(string stack, string device)
    {
        if (_ids.TryGetValue(stack, out int id)) return id;
        _sites.Add(new Site { Stack = stack, Device = device });
        _ids.Add(stack, _sites.Count);
        return _sites.Count;
    }

    /// <summary>The <paramref name="top"/> sites with the most mappings live at the end, then findings, then maps.</summary>
    public List<ReplayCallSite> Top(int top) => _sites
        .OrderByDescending(s => s.Live).ThenByDescending(s => s.Findings).ThenByDescending(s => s.Maps).ThenBy(s => s.Stack, StringComparer.Ordinal)
        .Take(top)
        .Select(s =>
        {
            var frames = s.Stack.Split('\n');
            return new ReplayCallSite(Caller(frames), frames, s.Device, s.Maps, s.Live, s.LiveBytes, s.Findings);
        })
        .ToList();

    // The DMA API and the IOMMU/swiotlb layers under it: the call site is the first frame outside them.
    static readonly string[] DmaLayers =
    [
        "dma_", "__dma_", "debug_dma_", "iommu_", "__iommu_", "swiotlb_", "__swiotlb_", "arm_smmu_", "intel_iommu_",
        "amd_iommu_", "virtio_iommu_", "viommu_", "trace_dma", "__traceiter_", "ftrace_", "trace_",
    ];

    /// <summary>The innermost frame that is not the DMA API itself (the driver that called it); the outermost frame
    /// when every frame is.</summary>
    internal static string Caller(IReadOnlyList<string> frames)
    {
        foreach (var f in frames)
        {
            bool layer = false;
            foreach (var p in DmaLayers)
                if (f.StartsWith(p, StringComparison.Ordinal)) { layer = true; break; }
            if (!layer) return f;
        }
        return frames.Count == 0 ? "" : frames[^1];
    }
}
