using DmaLab.Platform;
using DmaLab.Platform.Dtb;
using DmaLab.Workloads;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>`platform import X.dtb --save x.yaml` writes a platform that loads back and runs, for every sample tree.</summary>
public class DtbSaveRoundTripTests
{
    public static TheoryData<string> Trees => new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "data", "dtb"), "*.dtb").Select(Path.GetFileName).Order()!);

    [Fact]
    public void There_are_13_sample_trees() => Assert.Equal(13, Trees.Count);

    [Theory]
    [MemberData(nameof(Trees))]
    public void The_saved_platform_loads_back_equal_and_boots_and_runs(string file)
    {
        string path = Path.Combine(AppContext.BaseDirectory, "data", "dtb", file);
        using var s = File.OpenRead(path);
        var runnable = DtbPlatform.Runnable(DtbImporter.Import(s, path), path);
        string yaml = PlatformLoader.Save(runnable);
        var back = PlatformLoader.Load(new StringReader(yaml), file + ".yaml");
        Assert.Equal(yaml, PlatformLoader.Save(back));
        Assert.NotEmpty(back.Memory);
        Assert.Equal(runnable.Devices.Select(d => d.Name), back.Devices.Select(d => d.Name));
        var machine = Machine.Boot(back, new MachineOptions { Seed = 1 });
        // the same DMA setup as the tree itself gives (domain numbers are global counters, so not compared)
        Assert.Equal(Machine.Boot(runnable, new MachineOptions { Seed = 1 }).Setup.Select(x => (x.Device, x.Ops, x.Group, x.FlushQueue)),
            machine.Setup.Select(x => (x.Device, x.Ops, x.Group, x.FlushQueue)));
        var run = WorkloadCatalog.RunAll(back, 1, ["zone-pressure"]).ToList();
        Assert.NotEmpty(run);
    }
}
