using DmaLab.Trace;
using DmaLab.Replay;
using DmaLab.Cli.Report;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>
/// What-if re-runs on a booted machine (<see cref="MachineWhatIfModel"/>) of the real VT-d and SMMUv3 captures: the
/// figures are the model's measurements — IOTLB traffic of the device accesses, the driver's invalidation commands,
/// bounce bytes — and follow each policy's rules; the original keeps full fidelity.
/// </summary>
public class ReplayWhatIfMachineTests
{
    static ReplayReport Run(string name, ReplayPolicy policy, string? iommu = null)
    {
        using var s = File.OpenRead(TraceSamples.PathOf(name));
        return ReplayRunner.Run(s, name, new ReplayRunOptions { Policy = policy, IommuModel = iommu });
    }

    public static TheoryData<string, string> TranslatedCaptures => new()
    {
        { TraceSamples.VtdStrict, "intel-vtd" },
        { TraceSamples.Smmuv3Strict, "arm-smmu-v3" },
    };

    [Theory]
    [MemberData(nameof(TranslatedCaptures))]
    public void Lazy_issues_fewer_invalidation_commands_than_strict_and_iotlb_misses_are_measured(string capture, string family)
    {
        var strictRun = Run(capture, ReplayPolicy.Strict);
        var lazyRun = Run(capture, ReplayPolicy.Lazy);
        Assert.Equal(lazyRun.Fidelity.Compared, lazyRun.Fidelity.Matched);
        var strict = strictRun.WhatIf!.WhatIf;
        var lazy = lazyRun.WhatIf!.WhatIf;
        foreach (var w in new[] { strict, lazy })
        {
            Assert.True(w.Measured);
            Assert.Equal(family, w.Iommu);
            Assert.Equal(0, w.MapFailures);
            // Every access looked the IOTLB up; every miss walked the tables in memory; no access faulted.
            Assert.True(w.IotlbMisses > 0);
            Assert.Equal(w.IotlbLookups, w.IotlbHits + w.IotlbMisses);
            Assert.Equal(w.IotlbMisses, w.PageWalks);
            // (the SMMU's own queue allocations are untranslated accesses)
            Assert.InRange(w.IotlbLookups, w.DeviceAccesses - 8, w.DeviceAccesses);
            Assert.Equal(0, w.DeviceAccessFaults);
            // The device touches live mappings only: nothing goes through a stale entry.
            Assert.Equal(0, w.StaleHits);
            Assert.True(w.IovaAllocs > 0 && w.EstimatedNs > 0);
            Assert.Empty(w.FindingKinds);
        }
        Assert.Equal(0, strict.FlushQueueFlushes);
        Assert.True(lazy.FlushQueueFlushes > 0);
        Assert.True(lazy.InvalidationCommands * 5 < strict.InvalidationCommands,
            $"lazy {lazy.InvalidationCommands} vs strict {strict.InvalidationCommands} commands");
        Assert.True(lazy.Invalidations < strict.Invalidations);
        // Same calls, same accesses: only the invalidation side differs.
        Assert.Equal(strict.Maps, lazy.Maps);
        Assert.Equal(strict.DeviceAccesses, lazy.DeviceAccesses);
        Assert.True(lazyRun.WhatIf.EstimatedSpeedup > strictRun.WhatIf.EstimatedSpeedup);
    }

    [Theory]
    [MemberData(nameof(TranslatedCaptures))]
    public void Passthrough_has_no_iotlb_traffic(string capture, string family)
    {
        var w = Run(capture, ReplayPolicy.Passthrough).WhatIf!.WhatIf;
        Assert.True(w.DeviceAccesses > 0);
        Assert.Equal(0, w.IotlbLookups);
        Assert.Equal(0, w.IotlbMisses);
        Assert.Equal(0, w.PageWalks);
        Assert.Equal(0, w.Invalidations);
        Assert.Equal(0, w.InvalidationCommands);
        Assert.Equal(0, w.IovaAllocs);
        Assert.False(w.DevicePaths.ContainsKey("iommu-dma"));
        Assert.Equal(family, w.Iommu); // the IOMMU is there, in identity (bypass) mode
    }

    [Theory]
    [MemberData(nameof(TranslatedCaptures))]
    public void Swiotlb_force_bounces_exactly_the_mapped_bytes(string capture, string _)
    {
        var r = Run(capture, ReplayPolicy.SwiotlbForce);
        var w = r.WhatIf!.WhatIf;
        Assert.Equal(0, w.MapFailures);
        Assert.Equal("none", w.Iommu);
        Assert.Equal(0, w.IotlbLookups);
        // Every streaming mapping (single, and each sg entry) was served from bounce slots: their bytes are the
        // bytes the trace mapped.
        ulong mapped = 0;
        foreach (var d in r.Devices) mapped += d.BytesMapped;
        Assert.Equal(mapped, w.BouncedMappingBytes);
        Assert.Empty(w.FindingKinds); // every traced buffer is memory the bounce copies can reach
        // swiotlb copies every mapping in at map time and FROM_DEVICE/BIDIRECTIONAL ones back at unmap.
        Assert.True(w.BounceBytes >= w.BouncedMappingBytes);
    }

    [Fact]
    public void Swiotlb_force_of_an_x86_capture_on_an_arm64_what_if_machine_still_reaches_every_buffer()
    {
        // The VT-d capture's buffers sit below 1 GiB, where the arm64 machine has no page-allocator memory.
        var w = Run(TraceSamples.VtdStrict, ReplayPolicy.SwiotlbForce, "arm-smmu-v3").WhatIf!.WhatIf;
        Assert.Equal(0, w.MapFailures);
        Assert.Empty(w.FindingKinds);
        Assert.True(w.BounceBytes >= w.BouncedMappingBytes && w.BouncedMappingBytes > 0);
    }

    static long AllocatedBy(int events)
    {
        var gen = new SyntheticDmaTrace(seed: 9, events, devices: 2, maxLive: 256);
        var model = new ReplayWhatIf(new MachineReplayModel(new MachineReplayOptions { Cpus = 2 }),
            new MachineReplayOptions { Cpus = 2, Policy = ReplayPolicy.Lazy, IommuModel = "intel-vtd" });
        var replayer = new TraceReplayer(new ReplayOptions { Model = model });
        var r = new TraceRecord();
        long before = GC.GetAllocatedBytesForCurrentThread();
        while (gen.Next(r)) replayer.Consume(r);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var w = model.Alternative.Stats();
        Assert.Equal(0, w.MapFailures);
        Assert.Empty(w.FindingKinds);
        Assert.True(w.IotlbMisses > 0);
        return allocated;
    }

    [Fact]
    public void Measured_what_if_streams_in_bounded_memory()
    {
        long small = AllocatedBy(20_000), large = AllocatedBy(60_000);
        // 40k more events (machine boot and warm-up are in both) may cost a few bytes each at most.
        Assert.True(large - small < 40_000 * 16, $"{small} bytes for 20k events, {large} for 60k");
    }

    [Fact]
    public void Same_input_twice_gives_byte_identical_json()
    {
        string a = ReplayReportJson.Serialize(Run(TraceSamples.Smmuv3Strict, ReplayPolicy.Lazy));
        string b = ReplayReportJson.Serialize(Run(TraceSamples.Smmuv3Strict, ReplayPolicy.Lazy));
        Assert.Equal(a, b);
        Assert.Contains("\"measured\": true", a.Replace("\"measured\":true", "\"measured\": true"));
        Assert.Contains("\"iotlbLookups\"", a);
        Assert.Contains("\"staleHits\"", a);
    }

    [Fact]
    public void Iommu_model_on_a_dma_direct_capture_measures_every_page_access()
    {
        var w = Run(TraceSamples.H100, ReplayPolicy.AsTraced, "intel-vtd").WhatIf!.WhatIf;
        Assert.Equal("strict", w.Policy);
        Assert.Equal(1, w.DevicePaths["iommu-dma"]);
        Assert.True(w.IotlbMisses > 0 && w.IotlbHits > 0);
        Assert.Equal(w.DeviceAccesses, w.IotlbLookups);
        Assert.Equal(0, w.DeviceAccessFaults);
    }
}
