using System.Diagnostics;

namespace DmaLab.Tests;

/// <summary>
/// How many cases the fuzz tests run and what each may cost. The suite runs a few thousand in all (seconds);
/// DMALAB_FUZZ_CASES=N runs N cases in each fuzz test instead, for nightly runs (README, "Fuzzing"). CsCheck picks
/// the seed (CsCheck_Seed=... replays a failure it printed).
/// </summary>
internal static class FuzzBudget
{
    /// <summary>Wall-clock limit of one case: far above what any case needs (milliseconds), low enough that a hang
    /// or a time in proportion to a traced size fails the test.</summary>
    public static readonly TimeSpan CaseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Bytes one case may allocate on its thread (a what-if machine boots in about 30 MB): an array in
    /// proportion to a traced size fails the test.</summary>
    public const long CaseAllocationLimit = 400L << 20;

    public static int Cases(int suiteDefault) =>
        int.TryParse(Environment.GetEnvironmentVariable("DMALAB_FUZZ_CASES"), out int n) && n > 0 ? n : suiteDefault;

    /// <summary>Cases of a fuzz test that starts the binary per case (about a second each): a thousandth of
    /// DMALAB_FUZZ_CASES, at least <paramref name="suiteDefault"/>.</summary>
    public static int ProcessCases(int suiteDefault) => Math.Max(suiteDefault, Cases(suiteDefault * 1000) / 1000);

    /// <summary>Runs <paramref name="body"/> on its own thread and fails when it throws anything but an exception
    /// <paramref name="expected"/> accepts, runs past <see cref="CaseTimeout"/> or allocates more than
    /// <see cref="CaseAllocationLimit"/>. <paramref name="what"/> names the input in the failure.</summary>
    public static void Bounded(string what, Action body, Func<Exception, bool> expected)
    {
        Exception? error = null;
        long allocated = 0;
        var t = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { body(); }
            catch (Exception e) when (expected(e)) { }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }) { IsBackground = true };
        var sw = Stopwatch.StartNew();
        t.Start();
        if (!t.Join(CaseTimeout)) Assert.Fail($"{what}: still running after {CaseTimeout.TotalSeconds:0} s");
        if (error is not null) Assert.Fail($"{what}: {error.GetType().Name}: {error.Message}\n{error.StackTrace}");
        Assert.True(allocated < CaseAllocationLimit, $"{what}: allocated {allocated >> 20} MiB in {sw.ElapsedMilliseconds} ms");
    }
}
