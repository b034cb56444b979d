using DmaLab.Trace;
using DmaLab.Cli.Report;

namespace DmaLab.Tests.Trace;

/// <summary>Paths of the real captures shipped with the tests.</summary>
internal static class TraceSamples
{
    public const string H100 = "h100-cuda-pinned.trace.xz";
    public const string VtdStrict = "qemu-vtd-strict-sample.trace.xz";
    public const string VtdSwiotlb = "qemu-vtd-swiotlb-sample.trace.xz";
    public const string Smmuv3Strict = "qemu-smmuv3-strict-sample.trace.xz";
    /// <summary>One ring buffer (VT-d strict, 1 CPU) read four ways: tracefs text, `trace-cmd extract` (.dat v7,
    /// zstd), `trace-cmd convert --file-version 6` (xz-compressed here), `trace-cmd report`.</summary>
    public const string TraceCmdStrict = "qemu-vtd-strict-sample-tracecmd";
    /// <summary>VT-d lazy, 2 CPUs: tracefs text, .dat v7 and `trace-cmd report` of one ring buffer.</summary>
    public const string TraceCmdLazySmp2 = "qemu-vtd-lazy-smp2-sample2-tracecmd";
    public const string VtdStrict2 = "qemu-vtd-strict-sample2.trace.xz";
    public const string VtdLazy2 = "qemu-vtd-lazy-sample2.trace.xz";
    public const string VtdLazySmp2 = "qemu-vtd-lazy-smp2-sample2.trace.xz";
    public const string VtdLazyTimers2 = "qemu-vtd-lazy-timers-sample2.trace.xz";

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "data", "traces", name);

    public static FtraceReader Open(string name, FtraceReaderOptions? options = null) =>
        new(File.OpenRead(PathOf(name)), name, options);
}
