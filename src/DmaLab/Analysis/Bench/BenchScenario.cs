namespace DmaLab.Analysis.Bench;

/// <summary>
/// One benchmark scenario bound to one freshly booted machine. The runner creates one per thread, so each thread owns
/// its whole model (the model is single-threaded per machine, as a real CPU's view of one device's mappings is
/// serialised by the kernel's locks); nothing is shared between threads.
/// </summary>
internal abstract class BenchScenario
{
    /// <summary>The stable result name.</summary>
    public abstract string Name { get; }

    /// <summary>What one op is, for humans.</summary>
    public abstract string Description { get; }

    /// <summary>Boots the scenario's machine; <paramref name="seed"/> chooses where the buffer lies.</summary>
    public abstract void Boot(ulong seed);

    /// <summary>The hot loop: <paramref name="ops"/> ops; returns how many completed successfully. Must not allocate.</summary>
    public abstract long Run(int ops);

    /// <summary>The model's own counter for this op (see <see cref="BenchEntry.ModelCount"/>), or -1 where there is none.</summary>
    public virtual long ModelCount => -1;
}
