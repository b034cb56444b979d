namespace DmaLab.Replay;

/// <summary>The additive counters of one owner (device or process) at a moment: the filtered report adds up what
/// each event in view changed (after minus before), so it counts exactly the calls that pass the filter.</summary>
internal struct ReplayTotals
{
    public long Maps, Unmaps, SingleMaps, SgMaps, SgUnmaps, MapErrors, Allocs, Frees, Syncs;
    public ulong BytesMapped, BytesUnmapped, AllocBytes;
    public long IdentityMaps, TranslatedMaps, BouncedMaps, SwiotlbBounces, IommuMaps, IommuUnmaps, IoPageFaults, UnmatchedUnmaps;
    public ulong IommuMappedBytes;

    public static ReplayTotals Of(ReplayCounters? c)
    {
        if (c is null) return default;
        var t = new ReplayTotals
        {
            Maps = c.Maps, Unmaps = c.Unmaps, SingleMaps = c.SingleMaps, SgMaps = c.SgMaps, SgUnmaps = c.SgUnmaps,
            MapErrors = c.MapErrors, Allocs = c.Allocs, Frees = c.Frees, Syncs = c.Syncs,
            BytesMapped = c.BytesMapped, BytesUnmapped = c.BytesUnmapped, AllocBytes = c.AllocBytes,
        };
        if (c is ReplayDeviceStats d)
        {
            t.IdentityMaps = d.IdentityMaps; t.TranslatedMaps = d.TranslatedMaps; t.BouncedMaps = d.BouncedMaps;
            t.SwiotlbBounces = d.SwiotlbBounces; t.IommuMaps = d.IommuMaps; t.IommuUnmaps = d.IommuUnmaps;
            t.IoPageFaults = d.IoPageFaults; t.UnmatchedUnmaps = d.UnmatchedUnmaps; t.IommuMappedBytes = d.IommuMappedBytes;
        }
        return t;
    }

    /// <summary>Adds <paramref name="after"/> − <paramref name="before"/>.</summary>
    public void AddChange(in ReplayTotals after, in ReplayTotals before)
    {
        Maps += after.Maps - before.Maps; Unmaps += after.Unmaps - before.Unmaps;
        SingleMaps += after.SingleMaps - before.SingleMaps; SgMaps += after.SgMaps - before.SgMaps; SgUnmaps += after.SgUnmaps - before.SgUnmaps;
        MapErrors += after.MapErrors - before.MapErrors; Allocs += after.Allocs - before.Allocs; Frees += after.Frees - before.Frees;
        Syncs += after.Syncs - before.Syncs;
        BytesMapped += after.BytesMapped - before.BytesMapped; BytesUnmapped += after.BytesUnmapped - before.BytesUnmapped;
        AllocBytes += after.AllocBytes - before.AllocBytes;
        IdentityMaps += after.IdentityMaps - before.IdentityMaps; TranslatedMaps += after.TranslatedMaps - before.TranslatedMaps;
        BouncedMaps += after.BouncedMaps - before.BouncedMaps; SwiotlbBounces += after.SwiotlbBounces - before.SwiotlbBounces;
        IommuMaps += after.IommuMaps - before.IommuMaps; IommuUnmaps += after.IommuUnmaps - before.IommuUnmaps;
        IoPageFaults += after.IoPageFaults - before.IoPageFaults; UnmatchedUnmaps += after.UnmatchedUnmaps - before.UnmatchedUnmaps;
        IommuMappedBytes += after.IommuMappedBytes - before.IommuMappedBytes;
    }
}
