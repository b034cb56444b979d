namespace DmaLab.Sim;

/// <summary>
/// The kernel's tick counter against virtual time (Linux: kernel/time/jiffies.c, tick_do_update_jiffies64()):
/// jiffies advance by one every 1/HZ s, on a grid whose phase relative to the trace clock is not known from the
/// trace clock alone. <see cref="PhaseNs"/> is the offset of the grid (a boundary lies at every PhaseNs + k·tick);
/// a replay sets it from timer events (timer_start prints expires and timeout, so the jiffies of its timestamp) or
/// infers it. Jiffy numbers here are relative to the first boundary at or after 0 ns unless <see cref="Origin"/> is
/// calibrated to the kernel's own values.
/// </summary>
public sealed class JiffyClock
{
    public JiffyClock(int hz = 250, ulong phaseNs = 0)
    {
        if (hz <= 0 || hz > 10_000) throw new ArgumentOutOfRangeException(nameof(hz), hz, "CONFIG_HZ must be 1..10000");
        Hz = hz;
        TickNs = 1_000_000_000UL / (ulong)hz;
        PhaseNs = phaseNs % TickNs;
    }

    /// <summary>CONFIG_HZ.</summary>
    public int Hz { get; }
    /// <summary>TICK_NSEC (rounded down to whole ns).</summary>
    public ulong TickNs { get; }
    /// <summary>Where a jiffy begins, modulo <see cref="TickNs"/>.</summary>
    public ulong PhaseNs { get; private set; }
    /// <summary>Kernel jiffies value of relative jiffy 0 (0 until calibrated from a trace's timer events).</summary>
    public ulong Origin { get; private set; }
    /// <summary>True once <see cref="Calibrate"/> has seen a (timestamp, jiffies) pair.</summary>
    public bool Calibrated { get; private set; }

    /// <summary>Relative jiffies at <paramref name="ns"/>: the number of boundaries passed.</summary>
    public ulong At(ulong ns) => ns < PhaseNs ? 0 : (ns - PhaseNs) / TickNs;

    /// <summary>When relative jiffy <paramref name="jiffies"/> begins.</summary>
    public ulong BoundaryNs(ulong jiffies) => PhaseNs + jiffies * TickNs;

    /// <summary>Kernel jiffies value at <paramref name="ns"/>.</summary>
    public ulong KernelAt(ulong ns) => unchecked(Origin + At(ns));

    /// <summary>Relative jiffy of a kernel jiffies value.</summary>
    public ulong FromKernel(ulong kernelJiffies) => unchecked(kernelJiffies - Origin);

    public void SetPhase(ulong phaseNs) => PhaseNs = phaseNs % TickNs;

    /// <summary>
    /// A trace event at <paramref name="ns"/> saw <paramref name="kernelJiffies"/>. jiffies can lag (the tick that
    /// advances it may not have run yet) but never lead, so the jiffy began at or before <paramref name="ns"/>: the
    /// grid's phase is moved back just far enough that every observation's jiffy has begun by its timestamp, and
    /// stays as late as the observations allow (the latest consistent phase, which the earliest reading after a
    /// boundary pins down).
    /// </summary>
    public void Calibrate(ulong ns, ulong kernelJiffies)
    {
        if (!Calibrated)
        {
            Calibrated = true;
            PhaseNs = ns % TickNs;
            Origin = unchecked(kernelJiffies - At(ns));
            return;
        }
        ulong rel = FromKernel(kernelJiffies);
        if (rel > long.MaxValue / 2) return; // before the first observation's origin: ignore (cannot happen in order)
        ulong begin = BoundaryNs(rel);
        if (begin <= ns) return; // consistent
        // The jiffy must have begun by ns: move the grid earlier by the difference (keeping the jiffy numbering).
        ulong shift = begin - ns;
        if (shift >= TickNs) return; // an impossible reading (a clock step): keep the grid
        if (PhaseNs >= shift) PhaseNs -= shift;
        else { PhaseNs = PhaseNs + TickNs - shift; Origin = unchecked(Origin + 1); }
    }
}
