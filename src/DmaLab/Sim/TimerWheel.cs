namespace DmaLab.Sim;

/// <summary>
/// The timer wheel's bucket rule (Linux: kernel/time/timer.c, calc_wheel_index() and calc_index()): a timer is
/// queued in the level whose granularity fits its distance from the base clock, and its expiry is rounded up to
/// that level's granularity plus one, so a timer never fires early: at level 0 a timer for jiffy E runs at E + 1.
/// </summary>
public static class TimerWheel
{
    /// <summary>LVL_CLK_SHIFT: each level is 8 times coarser.</summary>
    public const int LevelClockShift = 3;
    /// <summary>LVL_BITS: 64 buckets per level.</summary>
    public const int LevelBits = 6;
    /// <summary>LVL_DEPTH for HZ &gt; 100.</summary>
    public const int Depth = 9;

    static ulong LevelStart(int n) => ((1UL << LevelBits) - 1) << ((n - 1) * LevelClockShift);

    /// <summary>The jiffy at which a timer armed at base clock <paramref name="clk"/> for <paramref name="expires"/>
    /// is run (bucket_expiry of trace event timer_start).</summary>
    public static ulong BucketExpiry(ulong expires, ulong clk)
    {
        ulong delta = unchecked(expires - clk);
        for (int lvl = 0; lvl < Depth - 1; lvl++)
            if (delta < LevelStart(lvl + 1)) return Round(expires, lvl);
        if ((long)delta < 0) return clk; // already due: the current bucket
        return Round(expires, Depth - 1); // (the wheel's cut-off for huge timeouts is not modelled)
    }

    /// <summary>calc_index(): round up to the level's granularity.</summary>
    static ulong Round(ulong expires, int lvl)
    {
        int shift = lvl * LevelClockShift;
        return ((expires >> shift) + 1) << shift;
    }
}
