using System.Text;
using DmaLab.Trace;
using DmaLab.Replay;

namespace DmaLab.Tests.Trace;

internal static class TraceTestUtil
{
    public static FtraceReader ReaderOf(string text, string name = "test.trace", FtraceReaderOptions? options = null) =>
        new(new MemoryStream(Encoding.UTF8.GetBytes(text)), name, options);

    public static List<TraceRecord> ReadAll(FtraceReader reader)
    {
        var list = new List<TraceRecord>();
        while (reader.Read()) list.Add(reader.Current.Clone());
        return list;
    }

    public static ReplayReport ReplayText(string text, IReplayModel? model = null, IReplayObserver? observer = null)
    {
        using var reader = ReaderOf(text);
        return TraceReplayer.Replay(reader, new ReplayOptions { Model = model, Observer = observer, Input = "test.trace" });
    }

    /// <summary>A tracefs line with the usual context columns.</summary>
    public static string Line(string evt, string fields, double ts = 1.0, string task = "drv", int pid = 100, int cpu = 0) =>
        $"{task,16}-{pid,-7} [{cpu:000}] ..... {ts,12:F6}: {evt}: {fields}\n";
}
