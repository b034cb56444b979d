namespace DmaLab.Sim;

/// <summary>
/// Seeded xoshiro256** generator owned by one component. Each component derives its own stream from the
/// platform seed and a name so adding a component never perturbs another's sequence.
/// </summary>
public sealed class Rng
{
    ulong _s0, _s1, _s2, _s3;

    public Rng(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
    }

    /// <summary>A stream for a named component: seed mixed with a stable (FNV-1a) hash of the name.</summary>
    public static Rng For(ulong seed, string component)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in component) { h ^= c; h *= 1099511628211UL; }
        return new Rng(seed ^ h);
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextU64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t; _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, bound).</summary>
    public ulong Next(ulong bound) => bound == 0 ? 0 : (ulong)((UInt128)NextU64() * bound >> 64);
    public int Next(int lo, int hiExclusive) => lo + (int)Next((ulong)(hiExclusive - lo));
    public bool Chance(double p) => (NextU64() >> 11) * (1.0 / (1UL << 53)) < p;
}
