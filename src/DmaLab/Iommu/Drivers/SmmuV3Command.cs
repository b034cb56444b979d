namespace DmaLab.Iommu.Drivers;

/// <summary>Command opcodes the model issues (Arm SMMUv3 spec IHI0070, §4 "Commands"; Linux: CMDQ_OP_*).</summary>
public enum SmmuV3Opcode : byte
{
    CfgiSte = 0x03,
    CfgiCd = 0x05,
    TlbiNhAsid = 0x11,
    TlbiNhVa = 0x12,
    TlbiNsnhAll = 0x30,
    CmdSync = 0x46,
}

/// <summary>One 16-byte command queue entry as written to the queue in memory (Linux: struct arm_smmu_cmdq_ent, arm_smmu_cmdq_build_cmd()).</summary>
public readonly record struct SmmuV3Command(SmmuV3Opcode Opcode, uint Sid, ushort Asid, ulong Address, bool Leaf)
{
    /// <summary>Encodes dword0/dword1: opcode [7:0]; CFGI_STE: SID [63:32], Leaf dword1[0]; TLBI_NH_*: ASID [63:48];
    /// TLBI_NH_VA: Leaf dword1[0], Address dword1[63:12]; CMD_SYNC: CS [13:12] = SEV (2).</summary>
    public (ulong D0, ulong D1) Encode() => Opcode switch
    {
        SmmuV3Opcode.CfgiSte => ((ulong)Opcode | ((ulong)Sid << 32), Leaf ? 1UL : 0),
        SmmuV3Opcode.CfgiCd => ((ulong)Opcode | ((ulong)Sid << 32), Leaf ? 1UL : 0),
        SmmuV3Opcode.TlbiNhAsid => ((ulong)Opcode | ((ulong)Asid << 48), 0),
        SmmuV3Opcode.TlbiNhVa => ((ulong)Opcode | ((ulong)Asid << 48), (Address & ~0xfffUL) | (Leaf ? 1UL : 0)),
        SmmuV3Opcode.CmdSync => ((ulong)Opcode | (2UL << 12), 0),
        _ => ((ulong)Opcode, 0),
    };
}
