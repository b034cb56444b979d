using System.Text.RegularExpressions;
using CsCheck;
using DmaLab.Dma;
using DmaLab.Mm;
using DmaLab.Platform;
using DmaLab.Sim;

namespace DmaLab.Tests.Platform;

/// <summary>
/// Fuzzing of platform files: the built-in platforms' YAML with values pushed to the edges (0, negative, 2^31−1,
/// 2^64−1, sizes beyond DRAM, empty, a list or a mapping where a scalar belongs), lines dropped or repeated and
/// unknown keys added. The property: loading ends in a spec or a <see cref="PlatformSpecException"/> whose message is
/// one line starting with the file name and a line:column; a spec that loads boots, maps a page on every device
/// and serialises (`platform show --json`), all in bounded time and memory.
/// </summary>
public partial class PlatformFuzzTests
{
    static readonly string[] BuiltIns = PlatformLoader.BuiltInNames.Select(n =>
    {
        using var s = typeof(PlatformLoader).Assembly.GetManifestResourceStream("DmaLab.Platform.BuiltIn." + n + ".yaml")!;
        return new StreamReader(s).ReadToEnd();
    }).ToArray();

    static readonly string[] Values =
    [
        "0", "1", "-1", "7", "12", "31", "32", "48", "64", "65", "128", "129", "4095", "4096", "0x1000", "2147483647",
        "2147483648", "-2147483648", "4294967295", "4294967296", "0xffffffffffffffff", "18446744073709551615",
        "18446744073709551616", "0x8000000000000000", "1T", "1023G", "16T", "64MiB", "0x7fffffff", "~", "", "[ ]",
        "{ }", "[ ~ ]", "true", "false", "x", "\"\"", "arm64", "s390x", "ArmSmmuV3", "IntelVtd", "pci", "force",
        "noforce", "per-instance", "\"0000:00:05.\"", "\"\\e]0;x\\a\"",
    ];

    [GeneratedRegex(@"(?<key>[A-Za-z]+): (?<val>[^,}\n#]+)")]
    private static partial Regex KeyValue();

    internal static string Mutate(ulong seed, out string name)
    {
        var rng = new Rng(seed);
        int which = rng.Next(0, BuiltIns.Length);
        name = PlatformLoader.BuiltInNames[which];
        string text = BuiltIns[which];
        int mutations = rng.Next(1, 4);
        for (int m = 0; m < mutations; m++)
        {
            var lines = text.Split('\n').ToList();
            switch (rng.Next(0, 10))
            {
                case 0:
                    lines.RemoveAt(rng.Next(0, lines.Count));
                    break;
                case 1:
                {
                    int i = rng.Next(0, lines.Count);
                    lines.Insert(i, lines[i]);
                    break;
                }
                case 2:
                    lines.Insert(rng.Next(0, lines.Count), rng.Chance(0.5) ? "frobnicate: 1" : "  frobnicate: [1, 2]");
                    break;
                default:
                {
                    var kv = KeyValue().Matches(text);
                    if (kv.Count == 0) break;
                    var g = kv[rng.Next(0, kv.Count)].Groups["val"];
                    text = text[..g.Index] + Values[rng.Next(0, Values.Length)] + text[(g.Index + g.Length)..];
                    continue;
                }
            }
            text = string.Join('\n', lines);
        }
        return text;
    }

    /// <summary>A spec that loads must boot and map: each device maps one page of DRAM both ways and unmaps it.</summary>
    internal static void LoadBootMap(string yaml, string source)
    {
        PlatformSpec spec;
        try { spec = PlatformLoader.Load(new StringReader(yaml), source); }
        catch (PlatformSpecException e)
        {
            Assert.StartsWith(source + ":", e.Message);
            Assert.DoesNotContain('\n', e.Message);
            return;
        }
        DmaLab.Cli.JsonOut.Serialize(spec);
        var m = Machine.Boot(spec);
        ulong page = spec.Memory[0].Base + spec.Memory[0].Size / 2 & ~0xfffUL;
        foreach (var d in m.Devices)
        {
            var a = m.Dma.MapPage(0, d, new PhysAddr(page), 4096, DmaDirection.Bidirectional);
            if (!a.IsError) m.Dma.UnmapPage(0, d, a, 4096, DmaDirection.Bidirectional);
        }
    }

    [Fact]
    public void Mutated_platform_files_load_or_fail_on_a_line_and_boot_when_they_load() =>
        Gen.ULong.Sample(seed =>
        {
            string yaml = Mutate(seed, out string name);
            FuzzBudget.Bounded($"seed {seed} ({name}):\n{yaml}", () => LoadBootMap(yaml, name + ".yaml"), _ => false);
        }, iter: FuzzBudget.Cases(500));
}
