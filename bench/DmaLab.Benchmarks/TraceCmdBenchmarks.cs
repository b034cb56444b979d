using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using DmaLab.Replay;
using DmaLab.Trace;
using DmaLab.Trace.TraceCmd;
using SharpCompress.Compressors.Xz;

namespace DmaLab.Benchmarks;

/// <summary>
/// trace-cmd .dat reading against tracefs text reading, on the same events: the real VT-d strict ring buffer
/// (qemu-vtd-strict-sample-tracecmd.v6.dat.xz, 4407 events in 60 pages) with its pages repeated, timestamps shifted,
/// into a 2 M-event v6 .dat (written once in the setup), and that file's records written as tracefs text (the
/// reader's own formatter). Per event (OperationsPerInvoke):
/// - ReadText_2M / ReadDat_2M: <see cref="TraceSource"/> alone (text: parsed ahead on worker threads, the default).
/// - ReplayRunnerText_2M / ReplayRunnerDat_2M: `dmalab replay`'s path, <see cref="ReplayRunner"/> with the
///   MachineReplayModel (platform inferred, lookahead window, fidelity).
/// </summary>
[MemoryDiagnoser]
public class TraceCmdBenchmarks
{
    const int Copies = 454; // 454 × 4407 = 2.0 M events
    const int Events = Copies * 4407;
    string _dat = "", _text = "";

    [GlobalSetup]
    public void Setup()
    {
        string name = "qemu-vtd-strict-sample-tracecmd.v6.dat.xz";
        string path = Path.Combine(AppContext.BaseDirectory, "data", "traces", name);
        if (!File.Exists(path)) path = Path.Combine(FindRoot(), "tests", "data", "traces", name);
        byte[] v6;
        using (var xz = new XZStream(File.OpenRead(path)))
        {
            var ms = new MemoryStream();
            xz.CopyTo(ms);
            v6 = ms.ToArray();
        }
        TraceCmdCpuData cpu;
        int pageSize;
        using (var r = new TraceCmdReader(new MemoryStream(v6), name))
        {
            cpu = r.File.Cpus.Single();
            pageSize = r.File.PageSize;
        }
        // The flyrecord table entry of CPU 0 (offset, size) in the metadata: the size grows, the offset stays.
        var meta = v6.AsSpan(0, (int)cpu.Offset).ToArray();
        var entry = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(entry, (ulong)cpu.Offset);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8), (ulong)cpu.Size);
        int at = meta.AsSpan().LastIndexOf(entry);
        if (at < 0) throw new InvalidOperationException("flyrecord entry not found");
        BinaryPrimitives.WriteUInt64LittleEndian(meta.AsSpan(at + 8), (ulong)cpu.Size * Copies);
        var pages = v6.AsSpan((int)cpu.Offset, (int)cpu.Size).ToArray();
        ulong first = BinaryPrimitives.ReadUInt64LittleEndian(pages);
        ulong last = BinaryPrimitives.ReadUInt64LittleEndian(pages.AsSpan(pages.Length - pageSize));
        ulong span = last - first + 1_000_000_000;

        _dat = Path.Combine(Path.GetTempPath(), $"dmalab-bench-tracecmd-{Environment.ProcessId}.dat");
        using (var f = new FileStream(_dat, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20))
        {
            f.Write(meta);
            var copy = (byte[])pages.Clone();
            for (int k = 0; k < Copies; k++)
            {
                for (int p = 0; p < copy.Length; p += pageSize)
                    BinaryPrimitives.WriteUInt64LittleEndian(copy.AsSpan(p), BinaryPrimitives.ReadUInt64LittleEndian(pages.AsSpan(p)) + (ulong)k * span);
                f.Write(copy);
            }
        }
        _text = Path.ChangeExtension(_dat, ".trace");
        using (var src = new TraceCmdReader(File.OpenRead(_dat), _dat))
        using (var w = new StreamWriter(_text, false, new UTF8Encoding(false), 1 << 20))
        {
            w.Write(TraceEventFormatter.Header(Events, 1));
            var sb = new StringBuilder();
            while (src.Read())
            {
                sb.Clear();
                TraceEventFormatter.AppendLine(sb, src.Current, legacyNames: true);
                sb.Append('\n');
                w.Write(sb);
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_dat.Length > 0) File.Delete(_dat);
        if (_text.Length > 0) File.Delete(_text);
    }

    static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "DmaLab.slnx"))) d = d.Parent;
        return d?.FullName ?? Directory.GetCurrentDirectory();
    }

    static long ReadAll(string file)
    {
        using var s = TraceSource.Open(new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), file);
        long n = 0;
        while (s.Read()) n++;
        if (n != Events) throw new InvalidOperationException($"{n} records, expected {Events}");
        return n;
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public long ReadText_2M() => ReadAll(_text);

    [Benchmark(OperationsPerInvoke = Events)]
    public long ReadDat_2M() => ReadAll(_dat);

    [Benchmark(OperationsPerInvoke = Events)]
    public long ReplayRunnerText_2M() => ReplayRunner.Run(File.OpenRead(_text), "bench").ReplayedEvents;

    [Benchmark(OperationsPerInvoke = Events)]
    public long ReplayRunnerDat_2M() => ReplayRunner.Run(File.OpenRead(_dat), "bench").ReplayedEvents;
}
