using System.Text.Json.Serialization;

namespace DmaLab.Replay;

/// <summary>One histogram bucket: sizes in (UpTo/2, UpTo] bytes (the first bucket holds sizes 0 and 1).</summary>
public readonly record struct SizeBucket(ulong UpTo, long Count);

/// <summary>Mapping sizes in power-of-two buckets (as dma_map_benchmark and the kernel's page orders think of
/// them). Fixed 65 counters: allocation-free.</summary>
public sealed class ReplaySizeHistogram
{
    readonly long[] _counts = new long[65];

    public void Add(ulong size) => _counts[BucketOf(size)]++;

    /// <summary>Index k such that size is in (2^(k-1), 2^k].</summary>
    public static int BucketOf(ulong size) => size <= 1 ? 0 : 64 - System.Numerics.BitOperations.LeadingZeroCount(size - 1);

    public long CountAt(int bucket) => _counts[bucket];

    /// <summary>Non-empty buckets in increasing size.</summary>
    [JsonIgnore]
    public IEnumerable<SizeBucket> Buckets
    {
        get
        {
            for (int k = 0; k < _counts.Length; k++)
                if (_counts[k] != 0) yield return new SizeBucket(k == 64 ? ulong.MaxValue : 1UL << k, _counts[k]);
        }
    }

    public List<SizeBucket> ToList() => Buckets.ToList();
}
