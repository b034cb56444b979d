namespace DmaLab.Sim;

/// <summary>Virtual time in nanoseconds. The model never reads the wall clock; components advance this instead.</summary>
public sealed class SimClock
{
    public ulong NowNs { get; private set; }
    public void Advance(ulong ns) => NowNs += ns;
    public void AdvanceTo(ulong ns) { if (ns > NowNs) NowNs = ns; }
}
