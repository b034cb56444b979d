using DmaLab.Replay;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>Report filters: the model replays every event (its addresses stay exact) while the report shows only the
/// events that pass.</summary>
public class ReplayFilterTests
{
    static ReplayReport Replay(ReplayFilter? filter)
    {
        using var s = File.OpenRead(TraceSamples.PathOf("qemu-vtd-strict-sample.trace.xz"));
        return ReplayRunner.Run(s, "qemu-vtd-strict-sample.trace.xz", new ReplayRunOptions { Replay = new ReplayOptions { Filter = filter } });
    }

    [Fact]
    public void A_device_filter_reports_that_device_alone_with_its_whole_counts_and_exact_fidelity()
    {
        var whole = Replay(null);
        var nvme = Replay(new ReplayFilter { Devices = ["0000:00:04.0"] });
        var d = Assert.Single(nvme.Devices);
        var w = whole.Devices.Single(x => x.Name == "0000:00:04.0");
        Assert.Equal((w.Maps, w.Unmaps, w.BytesMapped, w.LiveMappingsAtEnd), (d.Maps, d.Unmaps, d.BytesMapped, d.LiveMappingsAtEnd));
        Assert.True(nvme.Fidelity.Compared >= w.Maps, $"{nvme.Fidelity.Compared} < {w.Maps}"); // its maps and IOVA allocs
        Assert.Equal(nvme.Fidelity.Compared, nvme.Fidelity.Matched);
        Assert.Equal(whole.EventLinesInTrace, nvme.EventLinesInTrace);
        Assert.True(nvme.Lines < whole.Lines);
        Assert.All(nvme.Findings, f => Assert.Equal("0000:00:04.0", f.Device));
        Assert.Equal("device 0000:00:04.0", nvme.Filter);
    }

    [Fact]
    public void A_time_window_counts_the_events_inside_it_and_the_filters_add_up_to_the_whole()
    {
        var whole = Replay(null);
        double mid = (whole.FirstTimestampNs + whole.LastTimestampNs) / 2e9;
        var early = Replay(new ReplayFilter { ToSeconds = mid });
        var late = Replay(new ReplayFilter { FromSeconds = mid + 1e-9 });
        Assert.Equal(whole.Lines, early.Lines + late.Lines);
        Assert.Equal(whole.Maps, early.Maps + late.Maps);
        Assert.Equal(whole.Fidelity.Compared, early.Fidelity.Compared + late.Fidelity.Compared);
        Assert.Equal(late.Fidelity.Compared, late.Fidelity.Matched); // later IOVAs still exact: the model saw everything
        foreach (var (name, n) in whole.Events) Assert.Equal(n, early.Events.GetValueOrDefault(name) + late.Events.GetValueOrDefault(name));
    }

    [Fact]
    public void A_phase_filter_reports_the_events_of_that_phase()
    {
        var whole = Replay(null);
        var phase = whole.Phases.First(p => p.Name != "(start)" && p.Maps > 0);
        var r = Replay(new ReplayFilter { Phases = [phase.Name] });
        var same = whole.Phases.Where(p => p.Name == phase.Name).ToList();
        Assert.Equal(same.Sum(p => p.Maps), r.Maps);
        Assert.Equal(same.Sum(p => p.Events), r.Lines);
        Assert.All(r.Phases, p => Assert.Equal(phase.Name, p.Name));
    }

    [Fact]
    public void A_pid_or_comm_filter_reports_that_task()
    {
        var whole = Replay(null);
        var busiest = whole.Processes.OrderByDescending(p => p.Maps).First();
        var byPid = Replay(new ReplayFilter { Pids = [busiest.Pid!.Value] });
        var p = Assert.Single(byPid.Processes);
        Assert.Equal(busiest.Maps, p.Maps);
        Assert.Equal(busiest.Maps, byPid.Maps);
        string comm = busiest.Name[..busiest.Name.LastIndexOf('-')];
        var byComm = Replay(new ReplayFilter { Comms = [comm] });
        Assert.Equal(whole.Processes.Where(x => x.Name.StartsWith(comm + "-", StringComparison.Ordinal)).Sum(x => x.Maps), byComm.Maps);
    }
}
