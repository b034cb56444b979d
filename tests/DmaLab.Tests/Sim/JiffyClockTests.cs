using DmaLab.Sim;

namespace DmaLab.Tests.Sim;

public class JiffyClockTests
{
    [Theory]
    // Level 0 (under 63 jiffies away): one more than the expiry (kernel/time/timer.c calc_index()).
    [InlineData(1003UL, 1000UL, 1004UL)]
    [InlineData(1000UL + 62, 1000UL, 1000UL + 63)]
    // Level 1 (8-jiffy buckets): 250 jiffies (IOVA_SINGLE_FQ_TIMEOUT at HZ=250) from 0 -> bucket 256.
    [InlineData(250UL, 0UL, 256UL)]
    // Already due: the current bucket.
    [InlineData(990UL, 1000UL, 1000UL)]
    public void Bucket_expiry_follows_the_wheel_levels(ulong expires, ulong clk, ulong bucket) =>
        Assert.Equal(bucket, TimerWheel.BucketExpiry(expires, clk));

    [Fact]
    public void Calibration_keeps_the_latest_phase_every_reading_allows()
    {
        var j = new JiffyClock(250);
        j.Calibrate(10_003_000_000, 4_294_893_000);   // jiffy began at or before 10.003 s
        Assert.Equal(4_294_893_000UL, j.KernelAt(10_003_000_000));
        j.Calibrate(10_004_500_000, 4_294_893_001);   // the next jiffy had begun by 10.0045: the grid moves earlier
        Assert.Equal(4_294_893_001UL, j.KernelAt(10_004_500_000));
        Assert.Equal(4_294_893_000UL, j.KernelAt(10_003_000_000));
        Assert.Equal(500_000UL, j.PhaseNs);
        j.Calibrate(10_006_000_000, 4_294_893_001);   // a lagging reading changes nothing
        Assert.Equal(500_000UL, j.PhaseNs);
    }
}
