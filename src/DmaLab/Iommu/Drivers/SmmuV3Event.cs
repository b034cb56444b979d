namespace DmaLab.Iommu.Drivers;

/// <summary>Event IDs (Arm SMMUv3 spec IHI0070, §7.3 "Event records").</summary>
public enum SmmuV3EventId : byte
{
    CBadStreamId = 0x02,
    CBadSte = 0x04,
    CBadCd = 0x0a,
    FWalkEabt = 0x0b,
    FTranslation = 0x10,
    FAddrSize = 0x11,
    FAccess = 0x12,
    FPermission = 0x13,
}

/// <summary>One 32-byte event record (dword0: EventID [7:0], StreamID [63:32]; dword1: RnW [35]; dword2: InputAddr).</summary>
public readonly record struct SmmuV3Event(SmmuV3EventId Id, uint Sid, ulong InputAddr, bool Write)
{
    public (ulong D0, ulong D1, ulong D2) Encode() => ((ulong)Id | ((ulong)Sid << 32), Write ? 0 : 1UL << 35, InputAddr);
}
