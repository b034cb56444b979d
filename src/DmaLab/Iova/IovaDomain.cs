using System.Runtime.CompilerServices;
using DmaLab.Sim;

namespace DmaLab.Iova;

/// <summary>
/// The IOVA allocator of one DMA domain, exact to Linux drivers/iommu/iova.c (v6.7+ rbtree allocator with the depot
/// list): a red-black tree of allocated and reserved pfn ranges terminated by the anchor node, top-down search below
/// a limit with size-aligned placement, the <c>cached_node</c>/<c>cached32_node</c> search hints and
/// <c>max32_alloc_size</c>, and per-size range caches (per-CPU magazines and a depot trimmed by delayed work run in
/// virtual time). The CPU a call runs on is an argument so per-CPU cache behaviour is reproduced.
/// </summary>
public sealed class IovaDomain
{
    /// <summary>Linux: iova.c, IOVA_RANGE_CACHE_MAX_SIZE (log2 of the largest cached range, in granules, plus one).</summary>
    public const int RangeCacheMaxSize = 6;
    /// <summary>Linux: iova.c, IOVA_ANCHOR = ~0UL: pfn_lo and pfn_hi of the anchor node above the usable space.</summary>
    public const ulong IovaAnchor = ulong.MaxValue;
    /// <summary>Linux: iova.c, IOVA_DEPOT_DELAY = msecs_to_jiffies(100).</summary>
    public const int DepotDelayMs = 100;

    readonly IovaRbTree _tree;
    readonly IovaRcache[] _rcaches;
    readonly SimClock _clock;
    IovaMagazine? _magPool;
    readonly int _anchor;
    int _cachedNode;
    int _cached32Node;
    ulong _nextWorkDueNs = ulong.MaxValue; // earliest pending depot work: lets the hot paths skip RunDueWork cheaply

    /// <summary>Linux: init_iova_domain() followed by iova_domain_init_rcaches().</summary>
    /// <param name="granule">IOVA granule in bytes: a power of two no larger than the 4 KiB CPU page.</param>
    /// <param name="startPfn">Lowest allocatable pfn (iommu-dma passes at least 1 so IOVA 0 is never handed out).</param>
    /// <param name="cpus">Online CPUs: one pair of magazines per CPU per size class.</param>
    /// <param name="clock">Virtual clock driving the depot trim work; a private clock that never advances if null.</param>
    /// <param name="hz">Kernel CONFIG_HZ, for the jiffies rounding of the depot delay.</param>
    public IovaDomain(ulong granule, ulong startPfn, int cpus = 1, SimClock? clock = null, int hz = 250, int initialNodes = 64)
    {
        if (!IovaMath.IsPowerOfTwo(granule) || granule > 4096)
            throw new ArgumentException($"IOVA granule 0x{granule:x} must be a power of two no larger than PAGE_SIZE (init_iova_domain BUG_ON)", nameof(granule));
        if (cpus < 1) throw new ArgumentOutOfRangeException(nameof(cpus), cpus, "at least one CPU");
        if (hz <= 0) throw new ArgumentOutOfRangeException(nameof(hz), hz, "CONFIG_HZ must be positive");
        Granule = granule;
        Shift = IovaMath.Ffs(granule);
        StartPfn = startPfn;
        Cpus = cpus;
        _clock = clock ?? new SimClock();
        DepotDelayNs = JiffiesToNs(MsecsToJiffies(DepotDelayMs, hz), hz);
        Dma32BitPfn = 1UL << (32 - Shift);
        Max32AllocSize = Dma32BitPfn;
        _tree = new IovaRbTree(initialNodes);
        _anchor = _tree.AllocNode(IovaAnchor, IovaAnchor);
        _tree.Insert(_anchor, IovaRbTree.Nil);
        _cachedNode = _cached32Node = _anchor;
        _rcaches = new IovaRcache[RangeCacheMaxSize];
        for (int i = 0; i < RangeCacheMaxSize; i++) _rcaches[i] = new IovaRcache(this, cpus);
    }

    /// <summary>A domain of the same geometry, clock and CPUs as <paramref name="model"/> holding a copy of its
    /// state (<see cref="CopyStateFrom"/>): a rival hypothesis a replay keeps beside the domain it models.</summary>
    public IovaDomain(IovaDomain model)
    {
        Granule = model.Granule;
        Shift = model.Shift;
        StartPfn = model.StartPfn;
        Cpus = model.Cpus;
        _clock = model._clock;
        DepotDelayNs = model.DepotDelayNs;
        DepotLimit = model.DepotLimit;
        Dma32BitPfn = model.Dma32BitPfn;
        _tree = new IovaRbTree(4);
        _anchor = model._anchor;
        _rcaches = new IovaRcache[RangeCacheMaxSize];
        for (int i = 0; i < RangeCacheMaxSize; i++) _rcaches[i] = new IovaRcache(this, Cpus);
        CopyStateFrom(model);
    }

    /// <summary>
    /// Makes this domain's allocator state an exact copy of <paramref name="other"/>'s (same geometry and CPUs): the
    /// tree, the search hints, max32_alloc_size, every range cache and depot, the pending depot work. The statistics
    /// stay this domain's own.
    /// </summary>
    public void CopyStateFrom(IovaDomain other)
    {
        if (other.Cpus != Cpus || other.Granule != Granule || other._anchor != _anchor)
            throw new ArgumentException("domains of different geometry", nameof(other));
        _tree.CopyFrom(other._tree);
        _cachedNode = other._cachedNode;
        _cached32Node = other._cached32Node;
        Max32AllocSize = other.Max32AllocSize;
        for (int i = 0; i < RangeCacheMaxSize; i++) _rcaches[i].CopyFrom(other._rcaches[i]);
        _nextWorkDueNs = other._nextWorkDueNs;
    }

    /// <summary>Host bytes a copy of this domain's state takes (<see cref="IovaDomain(IovaDomain)"/>), about: the node
    /// array and its index, and every magazine.</summary>
    public long StateBytes
    {
        get
        {
            long mags = 0;
            foreach (var rc in _rcaches) mags += 2L * Cpus + rc.DepotSize;
            return _tree.Slots * (long)(IovaRbTree.NodeBytes + 8) + mags * (IovaMagazine.MagSize * 8 + 32);
        }
    }

    /// <summary>The domain's virtual time (the clock its depot work runs on).</summary>
    internal ulong NowNs => _clock.NowNs;

    public ulong Granule { get; }
    /// <summary>iova_shift(): log2 of the granule.</summary>
    public int Shift { get; }
    public ulong StartPfn { get; }
    public int Cpus { get; }
    /// <summary>Linux: iovad->dma_32bit_pfn = 1 &lt;&lt; (32 - shift).</summary>
    public ulong Dma32BitPfn { get; }
    /// <summary>Linux: iovad->max32_alloc_size: the smallest size known not to fit below 4 GiB.</summary>
    public ulong Max32AllocSize { get; private set; }
    /// <summary>Delay of the depot trim work in virtual ns (IOVA_DEPOT_DELAY after jiffies rounding).</summary>
    public ulong DepotDelayNs { get; }
    public IovaStats Stats;
    /// <summary>Full magazines one size class's depot may hold: 0 = an unbounded list trimmed by delayed work (Linux
    /// v6.7+: iova_depot_push(), iova_depot_work_func()); 32 = the fixed depot array of earlier kernels (v6.1:
    /// MAX_GLOBAL_MAGS, a full depot frees the magazine's pfns back to the tree at once, no delayed work). Both keep
    /// IOVA_MAG_SIZE = 127 (checked against the 6.1.192 and 6.12.118 sources).</summary>
    public int DepotLimit { get; init; }
    /// <summary>Linux v6.1's MAX_GLOBAL_MAGS.</summary>
    public const int MaxGlobalMags61 = 32;

    /// <summary>Live ranges in the tree, excluding the anchor.</summary>
    public int RangeCount => _tree.Count - 1;
    /// <summary>pfn_lo of the node cached_node points at (IOVA_ANCHOR when it is the anchor).</summary>
    public ulong CachedNodePfnLo => _tree.Lo(_cachedNode);
    /// <summary>pfn_lo of the node cached32_node points at (IOVA_ANCHOR when it is the anchor).</summary>
    public ulong Cached32NodePfnLo => _tree.Lo(_cached32Node);

    public ulong IovaOffset(ulong iova) => iova & (Granule - 1);
    public ulong IovaAlign(ulong size) => (size + Granule - 1) & ~(Granule - 1);
    public ulong IovaPfn(ulong iova) => iova >> Shift;

    internal static ulong MsecsToJiffies(int ms, int hz) => ((ulong)ms * (ulong)hz + 999) / 1000;
    internal static ulong JiffiesToNs(ulong jiffies, int hz) => jiffies * 1_000_000_000UL / (ulong)hz;

    /// <summary>Pre-sizes the node array (no resize during a run).</summary>
    public void EnsureCapacity(int ranges) => _tree.EnsureCapacity(ranges + 1);

    // ---- tree allocator -------------------------------------------------------------------------------------

    /// <summary>
    /// Linux: alloc_iova(): a range of <paramref name="size"/> granules with pfn_hi &lt;= <paramref name="limitPfn"/>,
    /// searched top-down; if <paramref name="sizeAligned"/>, pfn_lo is aligned to roundup_pow_of_two(size).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public IovaRange AllocIova(ulong size, ulong limitPfn, bool sizeAligned)
    {
        RunDueWork();
        int n = AllocAndInsertRange(size, limitPfn + 1, sizeAligned);
        return n == IovaRbTree.Nil ? IovaRange.Null : new IovaRange(_tree.Lo(n), _tree.Hi(n), n);
    }

    /// <summary>
    /// Linux: __alloc_and_insert_iova_range(); <paramref name="limitPfn"/> is exclusive here. Returns the new node,
    /// or Nil when nothing fits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    int AllocAndInsertRange(ulong size, ulong limitPfn, bool sizeAligned)
    {
        if (!SearchRange(size, limitPfn, sizeAligned, commit: true, out ulong newPfn, out int prev)) return IovaRbTree.Nil;
        int node = _tree.AllocNode(newPfn, newPfn + size - 1);
        if (!_tree.Insert(node, prev))
        {
            _tree.FreeNode(node); // iova_insert_rbtree's WARN_ON: cannot happen for a search result
            throw new InvalidOperationException($"IOVA tree already holds pfn 0x{newPfn:x}");
        }
        // __cached_rbnode_insert_update
        if (newPfn + size - 1 < Dma32BitPfn) _cached32Node = node;
        else _cachedNode = node;
        Stats.TreeAllocs++;
        return node;
    }

    /// <summary>The search of __alloc_and_insert_iova_range(): the pfn a range of <paramref name="size"/> would get
    /// and the node to insert it after. <paramref name="commit"/> false changes nothing (no max32_alloc_size update,
    /// no statistics): a preview.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    bool SearchRange(ulong size, ulong limitPfn, bool sizeAligned, bool commit, out ulong newPfn, out int prev)
    {
        ulong alignMask = ulong.MaxValue;
        if (sizeAligned) alignMask <<= IovaMath.FlsLong(size - 1);
        ulong highPfn = limitPfn, lowPfn = StartPfn;
        newPfn = 0;
        prev = IovaRbTree.Nil;

        if (limitPfn <= Dma32BitPfn && size >= Max32AllocSize)
        {
            if (commit) Stats.TreeAllocFailures++;
            return false;
        }

        int curr = limitPfn <= Dma32BitPfn ? _cached32Node : _cachedNode;
        ulong retryPfn = _tree.Hi(curr);
        long steps = 0; // counted locally: a memory counter bumped per step would chain the walk through a store
        while (true)
        {
            // Walk down from curr while the candidate collides with the range below it.
            do
            {
                highPfn = Math.Min(highPfn, _tree.Lo(curr));
                newPfn = (highPfn - size) & alignMask;
                prev = curr;
                curr = _tree.Prev(curr);
                steps++;
            } while (curr != IovaRbTree.Nil && newPfn <= _tree.Hi(curr) && newPfn >= lowPfn);

            if (highPfn < size || newPfn < lowPfn)
            {
                // The cached hint may have skipped free space above it: rescan once from the limit.
                if (lowPfn == StartPfn && retryPfn < limitPfn)
                {
                    highPfn = limitPfn;
                    lowPfn = retryPfn + 1;
                    curr = FindLimit(limitPfn);
                    continue;
                }
                if (commit)
                {
                    Max32AllocSize = size;
                    Stats.TreeAllocFailures++;
                    Stats.SearchSteps += steps;
                }
                return false;
            }
            break;
        }
        if (commit) Stats.SearchSteps += steps;
        return true;
    }

    /// <summary>
    /// Linux: iova_find_limit(): where the retry walk starts — the anchor for limits above 4 GiB, otherwise the
    /// lowest node whose pfn_hi reaches <paramref name="limitPfn"/> (the kernel's descent finds exactly that node).
    /// </summary>
    int FindLimit(ulong limitPfn) => limitPfn > Dma32BitPfn ? _anchor : _tree.LowestReaching(limitPfn, _anchor);

    /// <summary>Linux: find_iova(): the range containing <paramref name="pfn"/>, or a null range.</summary>
    public IovaRange FindIova(ulong pfn)
    {
        int n = FindNode(pfn);
        return n == IovaRbTree.Nil ? IovaRange.Null : new IovaRange(_tree.Lo(n), _tree.Hi(n), n);
    }

    int FindNode(ulong pfn) => _tree.Find(pfn);

    /// <summary>Linux: remove_iova(): hint update (__cached_rbnode_delete_update) then rb_erase, then free the node.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void RemoveNode(int free)
    {
        ulong lo = _tree.Lo(free), hi = _tree.Hi(free);
        int cached = _cached32Node;
        if (free == cached || (hi < Dma32BitPfn && lo >= _tree.Lo(cached)))
            _cached32Node = _tree.Next(free);
        if (lo < Dma32BitPfn) Max32AllocSize = Dma32BitPfn;
        if (lo >= _tree.Lo(_cachedNode))
            _cachedNode = _tree.Next(free);
        _tree.Erase(free);
        _tree.FreeNode(free);
        Stats.TreeFrees++;
    }

    /// <summary>Linux: __free_iova(): frees a range previously returned by this domain.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FreeIova(IovaRange range)
    {
        if (range.IsNull || range.Node == _anchor || !_tree.IsHandle(range.Node) || _tree.Lo(range.Node) != range.PfnLo
            || !_tree.IsLinked(range.Node))
            throw new ArgumentException($"{range} is not a live range of this IOVA domain", nameof(range));
        RunDueWork();
        RemoveNode(range.Node);
    }

    /// <summary>Linux: free_iova(): frees the range containing <paramref name="pfn"/>; nothing if there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void FreeIova(ulong pfn)
    {
        RunDueWork();
        int n = FindNode(pfn);
        if (n != IovaRbTree.Nil && n != _anchor) RemoveNode(n);
    }

    /// <summary>
    /// Linux: reserve_iova(): keeps [lo, hi] out of allocation. A range already fully covered returns the covering
    /// node; overlapping nodes are widened downwards and only the uncovered remainder is inserted, as the kernel does.
    /// Returns a null range for pfns beyond the address width (the kernel's WARN_ON).
    /// </summary>
    public IovaRange ReserveIova(ulong pfnLo, ulong pfnHi)
    {
        if ((pfnHi | pfnLo) > (ulong.MaxValue >> Shift) || pfnLo > pfnHi) return IovaRange.Null;
        RunDueWork();
        bool overlap = false;
        for (int n = _tree.First(); n != IovaRbTree.Nil; n = _tree.Next(n))
        {
            ref var node = ref _tree[n];
            if (pfnLo <= node.PfnHi && pfnHi >= node.PfnLo)
            {
                // __adjust_overlap_range
                if (pfnLo < node.PfnLo) _tree.SetLo(n, pfnLo);
                if (pfnHi > node.PfnHi) pfnLo = node.PfnHi + 1;
                if (pfnLo >= node.PfnLo && pfnHi <= node.PfnHi) return new IovaRange(node.PfnLo, node.PfnHi, n);
                overlap = true;
            }
            else if (overlap)
            {
                break;
            }
        }
        int fresh = _tree.AllocNode(pfnLo, pfnHi);
        if (!_tree.Insert(fresh, IovaRbTree.Nil))
        {
            _tree.FreeNode(fresh);
            return IovaRange.Null;
        }
        return new IovaRange(pfnLo, pfnHi, fresh);
    }

    // ---- range caches -----------------------------------------------------------------------------------------

    /// <summary>
    /// Linux: alloc_iova_fast(): rounds sizes below 2^(IOVA_RANGE_CACHE_MAX_SIZE-1) up to a power of two, tries
    /// <paramref name="cpu"/>'s range cache, then the tree (size-aligned); on failure with
    /// <paramref name="flushRcache"/> it empties every CPU's caches and the depots and retries once. Returns the
    /// pfn, or 0 on failure.
    /// </summary>
    public ulong AllocIovaFast(int cpu, ulong size, ulong limitPfn, bool flushRcache)
    {
        RunDueWork();
        if (size < 1UL << (RangeCacheMaxSize - 1)) size = IovaMath.RoundupPowOfTwo(size);

        ulong pfn = RcacheGet(cpu, size, limitPfn + 1);
        if (pfn != 0)
        {
            Stats.RcacheHits++;
            return pfn;
        }
        Stats.RcacheMisses++;
        while (true)
        {
            int n = AllocAndInsertRange(size, limitPfn + 1, true);
            if (n != IovaRbTree.Nil) return _tree.Lo(n);
            if (!flushRcache)
            {
                Stats.FastAllocFailures++;
                return 0;
            }
            flushRcache = false;
            Stats.RcacheFlushRetries++;
            for (int c = 0; c < Cpus; c++) FreeCpuCachedIovas(c);
            FreeGlobalCachedIovas();
        }
    }

    /// <summary>
    /// What <see cref="AllocIovaFast"/> would return now, changing nothing: the range cache's candidate, else the
    /// tree search's; 0 when both miss (the flush-and-retry of the real call is not previewed). Due depot work is not
    /// run. For a replay choosing among orders the trace allows.
    /// </summary>
    public ulong PeekAllocIovaFast(int cpu, ulong size, ulong limitPfn)
    {
        ulong pfn = PeekCached(cpu, size, limitPfn);
        if (pfn != 0) return pfn;
        if (size < 1UL << (RangeCacheMaxSize - 1)) size = IovaMath.RoundupPowOfTwo(size);
        return SearchRange(size, limitPfn + 1, true, commit: false, out ulong newPfn, out _) ? newPfn : 0;
    }

    /// <summary>
    /// Not a kernel operation: an allocation of <paramref name="size"/> granules (rounded as alloc_iova_fast() rounds
    /// them) that must come out at <paramref name="pfn"/>, for a replay whose trace shows the kernel's answer where
    /// this domain's own answer differs. The range is taken out of the range cache of whichever CPU holds it, or, if
    /// the tree has it free, inserted there as the tree search would have (updating the cached node). False, changing
    /// nothing, when the range is neither (in use, in a depot magazine, queued for a flush, or beyond
    /// <paramref name="limitPfn"/>).
    /// </summary>
    public bool TakeExact(int cpu, ulong pfn, ulong size, ulong limitPfn)
    {
        RunDueWork();
        if (size < 1UL << (RangeCacheMaxSize - 1)) size = IovaMath.RoundupPowOfTwo(size);
        if (size == 0 || pfn < StartPfn || pfn > limitPfn || limitPfn - pfn < size - 1) return false;
        int logSize = IovaMath.OrderBase2(size);
        if (logSize < RangeCacheMaxSize && _rcaches[logSize].Remove(CheckCpu(cpu), pfn))
        {
            Stats.TakenExact++;
            return true;
        }
        int above = _tree.LowestReaching(pfn, IovaRbTree.Nil);
        if (above != IovaRbTree.Nil && _tree.Lo(above) <= pfn + size - 1) return false;
        int node = _tree.AllocNode(pfn, pfn + size - 1);
        if (!_tree.Insert(node, IovaRbTree.Nil))
        {
            _tree.FreeNode(node);
            return false;
        }
        if (pfn + size - 1 < Dma32BitPfn) _cached32Node = node;
        else _cachedNode = node;
        Stats.TreeAllocs++;
        Stats.TakenExact++;
        return true;
    }

    /// <summary>
    /// Not a kernel operation: free_iova_fast() as it would have happened earlier, before the ranges
    /// <paramref name="above"/> were freed on <paramref name="cpu"/> (a replay that learns late that a flush released
    /// this range too, and released it before those): the range goes right below the lowest of them in the CPU's
    /// loaded magazine. False, changing nothing, when none of them is there (or the magazine is full): the caller then
    /// frees it the ordinary way.
    /// </summary>
    public bool FreeIovaFastBelow(int cpu, ulong pfn, ulong size, ReadOnlySpan<ulong> above)
    {
        int logSize = IovaMath.OrderBase2(size);
        if (logSize >= RangeCacheMaxSize || !_rcaches[logSize].InsertBelow(CheckCpu(cpu), pfn, above)) return false;
        Stats.RcacheInserts++;
        return true;
    }

    /// <summary>Whether <paramref name="cpu"/>'s loaded magazine of class <paramref name="logSize"/> holds
    /// <paramref name="pfn"/>.</summary>
    public bool LoadedHolds(int cpu, int logSize, ulong pfn) =>
        logSize >= 0 && logSize < RangeCacheMaxSize && _rcaches[logSize].LoadedHolds(CheckCpu(cpu), pfn);

    /// <summary>What the range cache would give alloc_iova_fast() of <paramref name="size"/> granules below
    /// <paramref name="limitPfn"/> on <paramref name="cpu"/>, changing nothing; 0 when it would miss (the tree would
    /// answer).</summary>
    public ulong PeekCached(int cpu, ulong size, ulong limitPfn)
    {
        if (size < 1UL << (RangeCacheMaxSize - 1)) size = IovaMath.RoundupPowOfTwo(size);
        int logSize = IovaMath.OrderBase2(size);
        return logSize < RangeCacheMaxSize ? _rcaches[logSize].Peek(CheckCpu(cpu), limitPfn + 1 - size) : 0;
    }

    /// <summary>The tree search's hints (cached_node, cached32_node, max32_alloc_size), for <see cref="UndoTreeAlloc"/>.</summary>
    public (int Cached, int Cached32, ulong Max32) TreeHints => (_cachedNode, _cached32Node, Max32AllocSize);

    /// <summary>Not a kernel operation: takes back the range the tree search just inserted at <paramref name="pfn"/>
    /// and restores the hints it had before (<see cref="TreeHints"/>), so a replay can make that allocation come out
    /// elsewhere. False, changing nothing, when no range starts there.</summary>
    public bool UndoTreeAlloc(ulong pfn, (int Cached, int Cached32, ulong Max32) hints)
    {
        int n = FindNode(pfn);
        if (n == IovaRbTree.Nil || n == _anchor || _tree.Lo(n) != pfn) return false;
        _tree.Erase(n);
        _tree.FreeNode(n);
        (_cachedNode, _cached32Node, Max32AllocSize) = hints;
        Stats.TreeAllocs--;
        return true;
    }

    /// <summary>Linux: free_iova_fast(): into <paramref name="cpu"/>'s range cache, or back to the tree if too large.</summary>
    public void FreeIovaFast(int cpu, ulong pfn, ulong size)
    {
        RunDueWork();
        int logSize = IovaMath.OrderBase2(size);
        if (logSize < RangeCacheMaxSize && _rcaches[logSize].Insert(CheckCpu(cpu), pfn, _clock.NowNs))
        {
            Stats.RcacheInserts++;
            return;
        }
        int n = FindNode(pfn);
        if (n != IovaRbTree.Nil && n != _anchor) RemoveNode(n);
    }

    /// <summary>Linux: iova_rcache_get(); <paramref name="limitPfn"/> is exclusive.</summary>
    ulong RcacheGet(int cpu, ulong size, ulong limitPfn)
    {
        int logSize = IovaMath.OrderBase2(size);
        if (logSize >= RangeCacheMaxSize) return 0;
        return _rcaches[logSize].Get(CheckCpu(cpu), limitPfn - size);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    int CheckCpu(int cpu)
    {
        if ((uint)cpu >= (uint)Cpus) ThrowBadCpu(cpu);
        return cpu;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void ThrowBadCpu(int cpu) => throw new ArgumentOutOfRangeException(nameof(cpu), cpu, $"domain has {Cpus} CPUs");

    /// <summary>Linux: free_cpu_cached_iovas() (also what CPU hot-unplug does).</summary>
    public void FreeCpuCachedIovas(int cpu)
    {
        CheckCpu(cpu);
        foreach (var rc in _rcaches) rc.FreeCpuCached(cpu);
    }

    /// <summary>Linux: free_global_cached_iovas(): empties every depot back into the tree.</summary>
    public void FreeGlobalCachedIovas()
    {
        foreach (var rc in _rcaches) rc.FreeGlobalCached();
    }

    /// <summary>
    /// Runs the delayed depot work items whose virtual due time has passed, earliest first, each exactly at its due
    /// time (so a rescheduled item runs again if that is also past). Every public operation calls this first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void RunDueWork()
    {
        // Nearly always nothing is due: keep that test inline on the alloc/free fast paths.
        ulong now = _clock.NowNs;
        if (_nextWorkDueNs > now) return;
        RunDueWorkSlow(now);
    }

    /// <summary>Runs the depot work items due at or before <paramref name="now"/> (see <see cref="RunDueWork"/>).</summary>
    public void RunDueWorkUntil(ulong now)
    {
        if (_nextWorkDueNs > now) return;
        RunDueWorkSlow(now);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    void RunDueWorkSlow(ulong now)
    {
        while (true)
        {
            int pick = -1;
            ulong due = ulong.MaxValue;
            for (int i = 0; i < _rcaches.Length; i++)
                if (_rcaches[i].WorkDueNs < due) { due = _rcaches[i].WorkDueNs; pick = i; }
            if (pick < 0 || due > now)
            {
                _nextWorkDueNs = due;
                return;
            }
            _rcaches[pick].RunWork(due, Cpus);
        }
    }

    /// <summary>Called by a size class when it arms its depot work.</summary>
    internal void NoteWorkScheduled(ulong dueNs)
    {
        if (dueNs < _nextWorkDueNs) _nextWorkDueNs = dueNs;
    }

    /// <summary>
    /// Virtual time of the earliest pending depot work item (ulong.MaxValue when none): a lower bound kept
    /// incrementally, exact again after every <see cref="RunDueWorkUntil"/>.
    /// </summary>
    public ulong NextWorkDueNs => _nextWorkDueNs;

    /// <summary>Full magazines waiting in the depot of size class <paramref name="logSize"/>.</summary>
    public int DepotSize(int logSize) => _rcaches[logSize].DepotSize;
    /// <summary>Pfns cached by <paramref name="cpu"/> (loaded + prev) in size class <paramref name="logSize"/>.</summary>
    public int CpuCachedCount(int cpu, int logSize) => _rcaches[logSize].CachedPfns(cpu);
    /// <summary>Entries in <paramref name="cpu"/>'s loaded magazine of size class <paramref name="logSize"/>.</summary>
    public int LoadedCount(int cpu, int logSize) => _rcaches[logSize].LoadedSize(cpu);

    internal IovaMagazine MagazineAlloc()
    {
        var m = _magPool;
        if (m != null) { _magPool = m.Next; m.Next = null; }
        else m = new IovaMagazine();
        m.Size = 0;
        return m;
    }

    internal void MagazineFree(IovaMagazine m)
    {
        m.Size = 0;
        m.Next = _magPool;
        _magPool = m;
    }

    /// <summary>Linux: iova_magazine_free_pfns(): every cached pfn goes back to the tree.</summary>
    internal void MagazineFreePfns(IovaMagazine mag)
    {
        for (int i = 0; i < mag.Size; i++)
        {
            int n = FindNode(mag.Pfns[i]);
            if (n == IovaRbTree.Nil) continue; // the kernel's WARN_ON(!iova)
            RemoveNode(n);
        }
        mag.Size = 0;
    }

    // ---- inspection ---------------------------------------------------------------------------------------------

    /// <summary>Height of the rbtree (anchor included).</summary>
    public int TreeDepth() => _tree.Height();

    /// <summary>Pages covered by live ranges (anchor excluded): what is allocated, including reserved ranges and the
    /// ranges parked in the rcaches. Walks the tree without allocating.</summary>
    public ulong PagesInUse()
    {
        ulong pages = 0;
        for (int n = _tree.First(); n != IovaRbTree.Nil; n = _tree.Next(n))
            if (n != _anchor) pages += _tree.Hi(n) - _tree.Lo(n) + 1;
        return pages;
    }

    /// <summary>Live ranges (excluding the anchor) in ascending order.</summary>
    public List<IovaRange> Ranges()
    {
        var list = new List<IovaRange>(RangeCount);
        for (int n = _tree.First(); n != IovaRbTree.Nil; n = _tree.Next(n))
            if (n != _anchor) list.Add(new IovaRange(_tree.Lo(n), _tree.Hi(n), n));
        return list;
    }

    /// <summary>
    /// Checks every invariant the allocator relies on; null when sound, else what is wrong: rbtree colours and
    /// order, ranges disjoint and ascending with the anchor last, cached nodes linked, every cached pfn the start of
    /// a live range and cached once.
    /// </summary>
    public string? Validate()
    {
        string? err = _tree.Validate();
        if (err != null) return "rbtree: " + err;
        if (_tree.Last() != _anchor || _tree.Lo(_anchor) != IovaAnchor || _tree.Hi(_anchor) != IovaAnchor)
            return "anchor node is not the last node at IOVA_ANCHOR";
        ulong prevHi = 0;
        bool first = true;
        for (int n = _tree.First(); n != IovaRbTree.Nil; n = _tree.Next(n))
        {
            ulong lo = _tree.Lo(n), hi = _tree.Hi(n);
            if (hi < lo) return $"range 0x{lo:x}..0x{hi:x} is inverted";
            if (!first && lo <= prevHi) return $"range 0x{lo:x}..0x{hi:x} overlaps the one below (ends 0x{prevHi:x})";
            prevHi = hi;
            first = false;
        }
        if (FindNode(_tree.Lo(_cachedNode)) != _cachedNode) return "cached_node is not a live node";
        if (FindNode(_tree.Lo(_cached32Node)) != _cached32Node) return "cached32_node is not a live node";
        var seen = new HashSet<ulong>();
        string? cacheErr = null;
        foreach (var rc in _rcaches)
        {
            rc.ForEachCached(pfn =>
            {
                if (!seen.Add(pfn)) cacheErr ??= $"pfn 0x{pfn:x} cached twice";
                int n = FindNode(pfn);
                if (n == IovaRbTree.Nil || _tree.Lo(n) != pfn) cacheErr ??= $"cached pfn 0x{pfn:x} is not the start of a live range";
            });
        }
        return cacheErr;
    }
}
