namespace DmaLab.Iommu.Drivers.VirtioIommu;

/// <summary>Request types of the virtio-iommu request queue (virtio spec, "IOMMU device", Device operations;
/// Linux: include/uapi/linux/virtio_iommu.h, VIRTIO_IOMMU_T_*).</summary>
public enum VirtioIommuRequestType : byte
{
    Attach = 0x01,
    Detach = 0x02,
    Map = 0x03,
    Unmap = 0x04,
    Probe = 0x05,
}

/// <summary>Status the device writes into a request's tail (VIRTIO_IOMMU_S_*).</summary>
public enum VirtioIommuStatus : byte
{
    Ok = 0x00,
    IoErr = 0x01,
    Unsupp = 0x02,
    DevErr = 0x03,
    Inval = 0x04,
    Range = 0x05,
    NoEnt = 0x06,
    Fault = 0x07,
    NoMem = 0x08,
}

/// <summary>
/// The request layouts as they sit in guest memory (little endian): a head {u8 type; u8 reserved[3]}, the body, and
/// a tail {u8 status; u8 reserved[3]} the device writes. ATTACH/DETACH: le32 domain, le32 endpoint, le32 flags,
/// u8 reserved[4]. MAP: le32 domain, le64 virt_start, le64 virt_end, le64 phys_start, le32 flags. UNMAP: le32 domain,
/// le64 virt_start, le64 virt_end, u8 reserved[4]. PROBE: le32 endpoint, u8 reserved[64], then probe_size bytes of
/// properties the device fills ({le16 type; le16 length; ...}, RESV_MEM = {u8 subtype; u8 reserved[3]; le64 start;
/// le64 end}).
/// </summary>
public static class VirtioIommuLayout
{
    public const int Head = 4, Tail = 4;
    public const int AttachBody = 16, MapBody = 32, UnmapBody = 24, ProbeBody = 68;
    /// <summary>VIRTIO_IOMMU_ATTACH_F_BYPASS.</summary>
    public const uint AttachBypass = 1;
    /// <summary>VIRTIO_IOMMU_MAP_F_READ / _WRITE / _MMIO.</summary>
    public const uint MapRead = 1, MapWrite = 2, MapMmio = 4;
    /// <summary>VIRTIO_IOMMU_PROBE_T_NONE / _RESV_MEM; VIRTIO_IOMMU_RESV_MEM_T_RESERVED / _MSI.</summary>
    public const ushort ProbeNone = 0, ProbeResvMem = 1;
    public const byte ResvMemReserved = 0, ResvMemMsi = 1;
    /// <summary>The probe buffer the device reports properties into (QEMU's VIOMMU_PROBE_SIZE).</summary>
    public const int ProbeSize = 512;
}
