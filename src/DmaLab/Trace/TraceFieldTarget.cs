namespace DmaLab.Trace;

/// <summary>What a raw event field fills in a <see cref="TraceRecord"/>.</summary>
internal enum TraceFieldTarget : byte
{
    None, Device, Driver, Dir, DmaAddr, PhysAddr, Size, UnmappedSize, Attrs, FullNents, FullEnts, Truncated,
    PhysAddrs, DmaAddrs, Lengths, Error, GroupId, FaultFlags, Gfp, DmaMask, Forced, Message,
}
