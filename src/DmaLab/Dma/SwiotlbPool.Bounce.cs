using System.Runtime.CompilerServices;
using DmaLab.Devices;
using DmaLab.Mm;

namespace DmaLab.Dma;

/// <summary>The bounce-buffer API of a swiotlb pool (Linux: kernel/dma/swiotlb.c and include/linux/swiotlb.h).</summary>
public sealed partial class SwiotlbPool
{
    bool _warnedAlign, _warnedOverflow;

    /// <summary>At most this many "buffer is full" records are kept; <see cref="SwiotlbStats.Failures"/> counts all.</summary>
    public const int MaxFailureRecords = 1024;

    /// <summary>The most recent "swiotlb buffer is full" record, if any.</summary>
    public SwiotlbFull? LastFailure { get; private set; }

    /// <summary>
    /// swiotlb_tbl_map_single(): allocate bounce slots for [<paramref name="origAddr"/>, +<paramref name="mappingSize"/>)
    /// and copy the original bytes in. The bounce address keeps the original's low bits selected by the device's
    /// min_align_mask (below 2 KiB by an offset inside the first slot, above it by the slot choice, beyond
    /// <paramref name="allocAlignMask"/> by whole padding slots); <paramref name="allocAlignMask"/> aligns the
    /// start of the allocation and rounds its size. The copy happens for every direction, FROM_DEVICE included:
    /// since Linux 5.18 (CVE-2022-0854; "swiotlb: rework \"fix info leak with DMA_FROM_DEVICE\"") the slot is
    /// pre-filled with the original bytes so a partial device write can neither leak old bounce contents nor
    /// clobber the bytes it did not write (6.12 and the current swiotlb_tbl_map_single() bounce DMA_TO_DEVICE
    /// unconditionally).
    /// Returns the bounce physical address, or <see cref="Swiotlb.MappingErrorPhys"/> with a
    /// <see cref="SwiotlbFull"/> record appended to <see cref="Failures"/>.
    /// </summary>
    public PhysAddr TblMapSingle(Device dev, PhysAddr origAddr, ulong mappingSize, uint allocAlignMask,
        DmaDirection dir, DmaAttrs attrs, int cpu)
    {
        if (allocAlignMask > Swiotlb.PageSize - 1 && !_warnedAlign)
        {
            _warnedAlign = true;
            AddFinding("swiotlb-alloc-align-warn", dev, origAddr.Value,
                "Alloc alignment may prevent fulfilling requests with max mapping_size");
        }
        ulong orig = origAddr.Value;
        uint minAlign = MinAlignMask(dev);
        uint offset = Swiotlb.AlignOffset(minAlign, allocAlignMask, orig);
        ulong align = (ulong)allocAlignMask + 1;
        ulong size = (mappingSize + offset + align - 1) & ~(align - 1);
        if (size == 0)
        {
            // BUG_ON(!nslots) in the kernel: a zero-length mapping is a driver bug, reported and refused.
            AddFinding("swiotlb-zero-size", dev, orig, "swiotlb: zero-length bounce mapping (kernel BUG_ON(!nslots))");
            return new PhysAddr(Swiotlb.MappingErrorPhys);
        }
        int index = FindSlots(dev, orig, size, allocAlignMask, cpu);
        if (index < 0)
        {
            Stats.Failures++;
            var full = new SwiotlbFull(dev.Name, size, _nslabs, Stats.UsedSlots, (attrs & DmaAttrs.NoWarn) != 0);
            LastFailure = full;
            if ((_failures ??= new()).Count < MaxFailureRecords) _failures.Add(full);
            return new PhysAddr(Swiotlb.MappingErrorPhys);
        }

        // Padding slots (an offset of 2 KiB or more) stay without orig_addr; the first real slot remembers how
        // many precede it so release can find the start of the allocation.
        ushort padSlots = (ushort)(offset >> Swiotlb.IoTlbShift);
        offset &= (uint)Swiotlb.IoTlbSize - 1;
        index += padSlots;
        var slots = _slots;
        slots[index].PadSlots = padSlots;
        ulong n = Swiotlb.NrSlots(size) - padSlots;
        for (ulong i = 0; i < n; i++)
            slots[index + (int)i].OrigAddr = orig + (i << Swiotlb.IoTlbShift);
        ulong tlbAddr = _start + ((ulong)index << Swiotlb.IoTlbShift) + offset;
        Stats.Maps++;
        Bounce(dev, tlbAddr, mappingSize, toDevice: true);
        return new PhysAddr(tlbAddr);
    }

    /// <summary>
    /// swiotlb_tbl_unmap_single(): for a bounce address of this pool, copy back (FROM_DEVICE/BIDIRECTIONAL unless
    /// DMA_ATTR_SKIP_CPU_SYNC) and release the slots. Any other address is not a bounce buffer and is left alone,
    /// as the kernel's inline wrapper does; returns whether the address was ours.
    /// </summary>
    public bool TblUnmapSingle(Device dev, PhysAddr tlbAddr, ulong mappingSize, DmaDirection dir, DmaAttrs attrs)
    {
        if (!IsSwiotlbBuffer(tlbAddr)) return false;
        if ((attrs & DmaAttrs.SkipCpuSync) == 0 && (dir == DmaDirection.FromDevice || dir == DmaDirection.Bidirectional))
            Bounce(dev, tlbAddr.Value, mappingSize, toDevice: false);
        ReleaseSlots(dev, tlbAddr.Value);
        return true;
    }

    /// <summary>swiotlb_sync_single_for_device(): TO_DEVICE/BIDIRECTIONAL copy the CPU's bytes into the slot again.</summary>
    public bool SyncSingleForDevice(Device dev, PhysAddr tlbAddr, ulong size, DmaDirection dir)
    {
        if (!IsSwiotlbBuffer(tlbAddr)) return false;
        if (dir == DmaDirection.ToDevice || dir == DmaDirection.Bidirectional)
            Bounce(dev, tlbAddr.Value, size, toDevice: true);
        else if (dir != DmaDirection.FromDevice)
            AddFinding("swiotlb-sync-bad-direction", dev, tlbAddr.Value, $"swiotlb: sync_single_for_device with DMA_{dir.ToKernelString()} (kernel BUG_ON)");
        return true;
    }

    /// <summary>swiotlb_sync_single_for_cpu(): FROM_DEVICE/BIDIRECTIONAL copy what the device wrote back to the original.</summary>
    public bool SyncSingleForCpu(Device dev, PhysAddr tlbAddr, ulong size, DmaDirection dir)
    {
        if (!IsSwiotlbBuffer(tlbAddr)) return false;
        if (dir == DmaDirection.FromDevice || dir == DmaDirection.Bidirectional)
            Bounce(dev, tlbAddr.Value, size, toDevice: false);
        else if (dir != DmaDirection.ToDevice)
            AddFinding("swiotlb-sync-bad-direction", dev, tlbAddr.Value, $"swiotlb: sync_single_for_cpu with DMA_{dir.ToKernelString()} (kernel BUG_ON)");
        return true;
    }

    /// <summary>
    /// swiotlb_map(), the dma-direct entry: emit swiotlb:swiotlb_bounced, bounce the buffer, and return the bus
    /// address of the slot, or <see cref="DmaAddr.MappingError"/> when the pool is full or the slot itself is not
    /// reachable by the device (dma_capable fails: released again without copy-back, a WARN). For a non-coherent
    /// device the caller still owes arch_sync_dma_for_device() on <paramref name="tlbAddr"/>.
    /// </summary>
    public DmaAddr Map(Device dev, PhysAddr paddr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu, out PhysAddr tlbAddr)
    {
        if (Trace.Enabled) EmitBounced(dev, PhysToDma(dev, paddr), size, cpu);
        tlbAddr = TblMapSingle(dev, paddr, size, 0, dir, attrs, cpu);
        if (tlbAddr.Value == Swiotlb.MappingErrorPhys) return DmaAddr.MappingError;
        var dma = PhysToDma(dev, tlbAddr);
        if (!DmaCapable(dev, dma, size))
        {
            TblUnmapSingle(dev, tlbAddr, size, dir, attrs | DmaAttrs.SkipCpuSync);
            AddFinding("swiotlb-addr-overflow", dev, dma.Value,
                $"swiotlb addr 0x{dma.Value:x}+{size} overflow (mask {dev.DmaMask:x}, bus limit {dev.BusDmaLimit:x})");
            tlbAddr = new PhysAddr(Swiotlb.MappingErrorPhys);
            return DmaAddr.MappingError;
        }
        return dma;
    }

    /// <inheritdoc cref="Map(Device, PhysAddr, ulong, DmaDirection, DmaAttrs, int, out PhysAddr)"/>
    public DmaAddr Map(Device dev, PhysAddr paddr, ulong size, DmaDirection dir, DmaAttrs attrs, int cpu) =>
        Map(dev, paddr, size, dir, attrs, cpu, out _);

    /// <summary>
    /// swiotlb_alloc() (restricted pools, CONFIG_DMA_RESTRICTED_POOL): whole pages aligned to their own order,
    /// searched without an original address. Returns the first page, or <see cref="Swiotlb.MappingErrorPhys"/>.
    /// </summary>
    public PhysAddr Alloc(Device dev, ulong size, int cpu)
    {
        if (size == 0) throw new ArgumentException("swiotlb_alloc of 0 bytes", nameof(size));
        int order = 0;
        while ((Swiotlb.PageSize << order) < size) order++;
        uint align = (uint)((1UL << (order + 12)) - 1);
        int index = FindSlots(dev, 0, size, align, cpu);
        if (index < 0)
        {
            Stats.Failures++;
            return new PhysAddr(Swiotlb.MappingErrorPhys);
        }
        ulong tlbAddr = _start + ((ulong)index << Swiotlb.IoTlbShift);
        if ((tlbAddr & (Swiotlb.PageSize - 1)) != 0)
        {
            AddFinding("swiotlb-alloc-unaligned", dev, tlbAddr,
                $"Cannot allocate pages from non page-aligned swiotlb addr 0x{tlbAddr:x16}.");
            ReleaseSlots(dev, tlbAddr);
            return new PhysAddr(Swiotlb.MappingErrorPhys);
        }
        Stats.Allocs++;
        return new PhysAddr(tlbAddr);
    }

    /// <summary>swiotlb_free(): false when <paramref name="page"/> is not in this pool.</summary>
    public bool Free(Device dev, PhysAddr page, ulong size)
    {
        if (!IsSwiotlbBuffer(page)) return false;
        ReleaseSlots(dev, page.Value);
        return true;
    }

    /// <summary>
    /// The original-buffer address that <paramref name="tlbAddr"/> stands for, computed as swiotlb_bounce() does
    /// (the slot's orig_addr plus the offset inside the slot, less the min_align offset), or
    /// <see cref="Swiotlb.MappingErrorPhys"/> when the address is not an allocated bounce slot with an original
    /// (padding slots, swiotlb_alloc pages, free slots, other addresses). For cache models that must see the
    /// CPU-side copies.
    /// </summary>
    public PhysAddr OriginalAddress(Device dev, PhysAddr tlbAddr)
    {
        if (!IsSwiotlbBuffer(tlbAddr)) return new PhysAddr(Swiotlb.MappingErrorPhys);
        ref readonly var slot = ref _slots[(tlbAddr.Value - _start) >> Swiotlb.IoTlbShift];
        if (slot.OrigAddr == Swiotlb.InvalidPhysAddr) return new PhysAddr(Swiotlb.MappingErrorPhys);
        long tlbOffset = (long)(tlbAddr.Value & (Swiotlb.IoTlbSize - 1)) - Swiotlb.AlignOffset(MinAlignMask(dev), 0, slot.OrigAddr);
        return new PhysAddr(unchecked(slot.OrigAddr + (ulong)tlbOffset));
    }

    /// <summary>
    /// Linux: include/linux/dma-direct.h, dma_capable() on a 64-bit dma_addr_t: the last byte must be within
    /// min_not_zero(dma_mask, bus_dma_limit).
    /// </summary>
    public static bool DmaCapable(Device dev, DmaAddr addr, ulong size)
    {
        if (addr.IsError) return false;
        ulong end = addr.Value + size - 1;
        ulong limit = dev.DmaMask == 0 ? dev.BusDmaLimit : dev.BusDmaLimit == 0 ? dev.DmaMask : Math.Min(dev.DmaMask, dev.BusDmaLimit);
        return end <= limit;
    }

    /// <summary>
    /// swiotlb_bounce(): copy between the slot at <paramref name="tlbAddr"/> and the original buffer recorded
    /// in that slot. The position inside the mapping comes from the slot's orig_addr and the offset of
    /// <paramref name="tlbAddr"/> inside its slot (which may be "negative" for an address inside the alignment
    /// offset of a later slot); the length is cut to what is left of the allocation. The original may cross pages
    /// (the kernel's highmem path copies page by page); <see cref="PhysicalMemory.CopyDirect"/> walks pages the same way.
    /// </summary>
    void Bounce(Device dev, ulong tlbAddr, ulong size, bool toDevice)
    {
        int index = (int)((tlbAddr - _start) >> Swiotlb.IoTlbShift);
        ref var slot = ref _slots[index];
        ulong orig = slot.OrigAddr;
        if (orig == Swiotlb.InvalidPhysAddr) return;
        long tlbOffset = (long)(tlbAddr & (Swiotlb.IoTlbSize - 1)) - Swiotlb.AlignOffset(MinAlignMask(dev), 0, orig);
        orig = unchecked(orig + (ulong)tlbOffset);
        ulong allocSize = unchecked(slot.AllocSize - (ulong)tlbOffset);
        if (size > allocSize)
        {
            Stats.Overflows++;
            if (!_warnedOverflow)
            {
                _warnedOverflow = true;
                AddFinding("swiotlb-buffer-overflow", dev, tlbAddr,
                    $"Buffer overflow detected. Allocation size: {allocSize}. Mapping size: {size}.");
            }
            size = allocSize;
        }
        if (size == 0) return;
        var rc = toDevice ? _memory.CopyDirect(new PhysAddr(tlbAddr), new PhysAddr(orig), size)
                          : _memory.CopyDirect(new PhysAddr(orig), new PhysAddr(tlbAddr), size);
        if (rc != MemAccess.Ok)
        {
            AddFinding("swiotlb-bounce-bus-error", dev, orig, $"swiotlb: bounce of {size} bytes at 0x{orig:x} hit a bus error");
            return;
        }
        if (toDevice) Stats.BouncedBytesToDevice += size;
        else Stats.BouncedBytesFromDevice += size;
        Clock?.Advance(Cost.CopyNs(size));
    }

    /// <summary>
    /// include/trace/events/swiotlb.h, TP_printk of swiotlb_bounced:
    /// "dev_name: %s dma_mask=%llx dev_addr=%llx size=%zu %s" with FORCE or NORMAL from is_swiotlb_force_bounce().
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    void EmitBounced(Device dev, DmaAddr devAddr, ulong size, int cpu) =>
        Trace.Write(cpu, "swiotlb", "swiotlb_bounced", FormatBounced(dev.Name, dev.DmaMask, devAddr.Value, size, ForceBounce));

    /// <summary>The swiotlb_bounced field text, exactly as tracefs prints it.</summary>
    public static string FormatBounced(string devName, ulong dmaMask, ulong devAddr, ulong size, bool force) =>
        $"dev_name: {devName} dma_mask={dmaMask:x} dev_addr={devAddr:x} size={size} {(force ? "FORCE" : "NORMAL")}";
}
