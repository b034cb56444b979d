using System.Text.Json;

namespace DmaLab.Tests.Cli;

public class RunCliTests
{
    [Fact]
    public void RunWritesReportsAndIsDeterministic()
    {
        string a = CliRunner.TempDir(), b = CliRunner.TempDir();
        var r1 = CliRunner.RunIn(a, "run", "--workload", "nic-rings", "camera-noncoherent", "--seed", "7");
        var r2 = CliRunner.RunIn(b, "run", "--workload", "nic-rings", "camera-noncoherent", "--seed", "7");
        Assert.Equal(0, r1.ExitCode);
        string j1 = File.ReadAllText(Path.Combine(a, "dmalab-out", "report.json"));
        Assert.Equal(j1, File.ReadAllText(Path.Combine(b, "dmalab-out", "report.json")));
        var doc = JsonDocument.Parse(j1).RootElement;
        Assert.Equal("arm64-ref", doc.GetProperty("platform").GetString());
        var runs = doc.GetProperty("workloads").EnumerateArray().ToList();
        Assert.Equal(["strict", "lazy", "passthrough"], runs.Where(w => w.GetProperty("name").GetString() == "nic-rings").Select(w => w.GetProperty("variant").GetString()));
        // The buggy camera variant skips dma_sync_single_for_cpu and must be flagged; the correct one must not.
        var cams = runs.Where(w => w.GetProperty("name").GetString() == "camera-noncoherent").ToList();
        Assert.Contains(cams, w => w.GetProperty("findings").GetArrayLength() > 0);
        Assert.Contains(cams, w => w.GetProperty("findings").GetArrayLength() == 0);
        Assert.True(doc.GetProperty("devices").GetArrayLength() >= 7);
        string html = File.ReadAllText(Path.Combine(a, "dmalab-out", "report.html"));
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("nic-rings", html);
    }

    [Fact]
    public void RunOnAnImportedDeviceTreeCompletes()
    {
        string d = CliRunner.TempDir();
        var r = CliRunner.RunIn(d, "run", "--platform", CliRunner.DataPath("dtb", "armhf_omap4-panda.dtb"), "--workload", "zone-pressure", "dma-bounce-32bit", "--json");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Contains(doc.GetProperty("devices").EnumerateArray(), x => x.GetProperty("name").GetString() == "55020000.ipu");
    }

    [Fact]
    public void RunOnS390ZpciStatesEachLazyDomainsFlushQueue()
    {
        string d = CliRunner.TempDir();
        var r = CliRunner.RunIn(d, "run", "--platform", "s390-zpci", "--workload", "nvme-queue", "drm-composite", "--json");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonDocument.Parse(r.Stdout).RootElement;
        var devs = doc.GetProperty("devices").EnumerateArray().ToDictionary(x => x.GetProperty("name").GetString()!);
        var single = devs["0001:00:00.0"].GetProperty("flushQueue");
        Assert.Equal(("single", 32768, 1, 1000), (single.GetProperty("type").GetString(), single.GetProperty("entries").GetInt32(),
            single.GetProperty("rings").GetInt32(), single.GetProperty("timeoutMs").GetInt32()));
        Assert.Equal("per-cpu", devs["0002:00:00.0"].GetProperty("flushQueue").GetProperty("type").GetString());
        var runs = doc.GetProperty("workloads").EnumerateArray().ToList();
        Assert.All(runs.Where(w => w.GetProperty("name").GetString() == "nvme-queue"), w => Assert.Equal(0, w.GetProperty("findings").GetArrayLength()));
        // the DRM windows below 4 GiB are outside a zPCI DMA window: skipped with the reason, no faults
        Assert.All(runs.Where(w => w.GetProperty("name").GetString() == "drm-composite"), w =>
        {
            Assert.Equal(0, w.GetProperty("findings").GetArrayLength());
            Assert.Contains(w.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("reserved IOVA region 0x0-0xffffffff"));
        });
    }

    [Fact]
    public void UnknownWorkloadIsUsageError()
    {
        var r = CliRunner.Run("run", "--workload", "nope");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--workload nope: unknown workload", r.Stderr);
    }

    [Fact]
    public void CompareGivesOneColumnPerPolicy()
    {
        var r = CliRunner.Run("compare", "--workload", "nic-rings", "--policy", "strict,lazy", "--json");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonDocument.Parse(r.Stdout).RootElement;
        Assert.Equal(["strict", "lazy"], doc.GetProperty("policies").EnumerateArray().Select(p => p.GetString()));
        var inv = doc.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "iotlb-invalidations").GetProperty("values");
        Assert.True(inv[0].GetDouble() > inv[1].GetDouble());
    }
}

public class RunReportAgreementTests
{
    [Fact]
    public void Findings_are_a_list_that_agrees_with_the_error_metrics_and_the_terminal()
    {
        string d = CliRunner.TempDir();
        var r = CliRunner.RunIn(d, "run", "--workload", "nvme-queue", "camera-noncoherent", "--json");
        Assert.Equal(0, r.ExitCode);
        var doc = System.Text.Json.JsonDocument.Parse(r.Stdout).RootElement;
        var all = doc.GetProperty("findings").EnumerateArray().ToList();
        Assert.Equal(doc.GetProperty("findingCount").GetInt32(), all.Count);
        foreach (var w in doc.GetProperty("workloads").EnumerateArray())
        {
            string name = w.GetProperty("name").GetString()!, variant = w.GetProperty("variant").GetString()!;
            Assert.Equal(w.GetProperty("findings").GetArrayLength(),
                all.Count(f => f.GetProperty("workload").GetString() == name && f.GetProperty("variant").GetString() == variant));
            // nvme-queue's data check: a coherent controller's writes reach the CPU (no stale cached line), so no data errors
            if (name == "nvme-queue") Assert.Equal(0, w.GetProperty("metrics").GetProperty("data-errors").GetProperty("value").GetDouble());
            foreach (var m in w.GetProperty("metrics").EnumerateObject().Where(m => m.Name.EndsWith("-errors", StringComparison.Ordinal)))
                if (m.Value.GetProperty("value").GetDouble() > 0) Assert.NotEqual(0, w.GetProperty("findings").GetArrayLength());
        }
        Assert.All(all, f => Assert.Matches("^0x[0-9a-f]+$", f.GetProperty("address").GetString()));
        var term = CliRunner.RunIn(CliRunner.TempDir(), "run", "--workload", "camera-noncoherent");
        Assert.Matches(@"│ camera-noncoherent \(buggy\) +│ frames-with-stale-data: 8 +│ stale-cpu-read 14 +│", term.Stdout);
        Assert.All(term.Stdout.Split('\n'), l => Assert.True(l.Length <= 80 || !l.Trim().Contains(' '), l));
    }
}
