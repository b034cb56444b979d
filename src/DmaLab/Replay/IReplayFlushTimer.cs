namespace DmaLab.Replay;

/// <summary>
/// Optional for an <see cref="IReplayModel"/>: receives the trace's own flush-queue timer events (timer:timer_start
/// and timer:timer_expire_entry with function=fq_flush_timeout, Linux: drivers/iommu/dma-iommu.c queue_iova() arms it,
/// kernel/time/timer.c runs it), so a lazy domain's flushes happen exactly where the kernel's did instead of where the
/// model predicts them. The events do not say which domain's timer they are (the timer's address is hashed); the
/// model knows which of its queues armed one.
/// </summary>
public interface IReplayFlushTimer
{
    void FlushTimerStarted(in ReplayTimerEvent e);
    void FlushTimerExpired(in ReplayTimerEvent e);
}

/// <summary>One fq_flush_timeout timer event.</summary>
/// <param name="Cpu">The CPU that traced it (for an expiry: the one running the callback).</param>
/// <param name="Jiffies">jiffies when traced (timer_start: expires - timeout; timer_expire_entry: now).</param>
/// <param name="Bucket">timer_start: bucket_expiry; timer_expire_entry: the base clock (baseclk).</param>
/// <param name="TimerCpu">timer_start: the timer base (cpu=) it was queued on.</param>
public readonly record struct ReplayTimerEvent(int Cpu, ulong TimestampNs, ulong Jiffies, ulong Bucket, int TimerCpu, long Line);
