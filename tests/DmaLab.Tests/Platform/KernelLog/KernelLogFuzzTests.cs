using System.Text;
using CsCheck;
using DmaLab.Platform.KernelLog;
using DmaLab.Sim;
using DmaLab.Tests.Trace;

namespace DmaLab.Tests.Platform.KernelLog;

/// <summary>The kernel-log reader on mutated lines of the real logs beside the captures: every case gives facts or a
/// located <see cref="KernelLogFormatException"/> (file, line or offset), in bounded time and memory.</summary>
public class KernelLogFuzzTests
{
    static readonly Lazy<string[]> FactLines = new(() =>
    {
        var lines = new List<string>();
        foreach (var file in new[] { "qemu-vtd-lazy-smp2-sample2.platform.txt", "qemu-amd-strict-sample.platform.txt",
                     "qemu-virtio-strict-sample.platform.txt", "qemu-smmuv3-strict-sample.platform.txt", "qemu-vtd-strict-k61-sample.platform.txt" })
        {
            // Only the lines a fact is taken from: the mutations then hit the reader's parsers, not the noise.
            foreach (var line in File.ReadLines(TraceSamples.PathOf(file)))
                if (KernelLogReader.Read(new StringReader(line), file).FactLines > 0) lines.Add(line);
        }
        return lines.ToArray();
    });

    [Fact]
    public void Mutated_fact_lines_give_facts_or_a_located_error()
    {
        var lines = FactLines.Value;
        Assert.True(lines.Length > 50, $"{lines.Length} fact lines");
        const string interesting = "0123456789abcdefxX[]()-:= .,\t\0\u00ff\u001b";
        Gen.ULong.Sample(seed =>
        {
            var rng = new Rng(seed);
            var text = new StringBuilder();
            for (int i = 0; i < 12; i++)
            {
                var line = new StringBuilder(lines[rng.Next(0, lines.Length)]);
                int mutations = rng.Next(0, 6);
                for (int m = 0; m < mutations && line.Length > 0; m++)
                {
                    int at = rng.Next(0, line.Length);
                    char c = interesting[rng.Next(0, interesting.Length)];
                    switch (rng.Next(0, 5))
                    {
                        case 0: line[at] = c; break;
                        case 1: line.Insert(at, c); break;
                        case 2: line.Remove(at, 1); break;
                        case 3: line.Length = at; break;
                        default: line.Insert(at, new string('f', rng.Next(1, 40))); break; // long hex numbers
                    }
                }
                text.Append(line).Append('\n');
            }
            string log = text.ToString();
            FuzzBudget.Bounded($"kernel log (seed {seed})", () =>
            {
                try { KernelLogReader.Read(new StringReader(log), "dmesg.txt"); }
                catch (KernelLogFormatException e)
                {
                    Assert.Matches(@"^dmesg\.txt: (line \d+: column \d+|offset \d+): ", e.Message);
                    Assert.DoesNotContain('\n', e.Message);
                    throw;
                }
            }, e => e is KernelLogFormatException);
        }, iter: FuzzBudget.Cases(300));
    }
}
