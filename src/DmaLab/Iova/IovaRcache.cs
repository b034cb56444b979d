namespace DmaLab.Iova;

/// <summary>
/// The range cache of one size class: a loaded and a previous magazine per CPU plus a global depot of full
/// magazines with its delayed trim work (Linux: drivers/iommu/iova.c, struct iova_rcache / iova_cpu_rcache,
/// __iova_rcache_insert(), __iova_rcache_get(), iova_depot_push/pop(), iova_depot_work_func()).
/// </summary>
internal sealed class IovaRcache
{
    readonly IovaDomain _domain;
    readonly IovaMagazine[] _loaded;
    readonly IovaMagazine[] _prev;
    IovaMagazine? _depot;

    public IovaRcache(IovaDomain domain, int cpus)
    {
        _domain = domain;
        _loaded = new IovaMagazine[cpus];
        _prev = new IovaMagazine[cpus];
        for (int c = 0; c < cpus; c++)
        {
            _loaded[c] = domain.MagazineAlloc();
            _prev[c] = domain.MagazineAlloc();
        }
    }

    /// <summary>Makes this size class an exact copy of <paramref name="other"/>'s (same CPUs): every CPU's loaded and
    /// previous magazine, the depot in its order, the pending trim work.</summary>
    public void CopyFrom(IovaRcache other)
    {
        for (int c = 0; c < _loaded.Length; c++)
        {
            _loaded[c].CopyFrom(other._loaded[c]);
            _prev[c].CopyFrom(other._prev[c]);
        }
        while (_depot != null) _domain.MagazineFree(DepotPop());
        IovaMagazine? tail = null;
        for (var m = other._depot; m != null; m = m.Next)
        {
            var copy = _domain.MagazineAlloc();
            copy.CopyFrom(m);
            if (tail == null) _depot = copy; else tail.Next = copy;
            tail = copy;
        }
        DepotSize = other.DepotSize;
        WorkDueNs = other.WorkDueNs;
    }

    public int DepotSize { get; private set; }
    /// <summary>Virtual time at which the delayed depot work runs; ulong.MaxValue when not pending.</summary>
    public ulong WorkDueNs { get; private set; } = ulong.MaxValue;

    public int CachedPfns(int cpu) => _loaded[cpu].Size + _prev[cpu].Size;
    public int LoadedSize(int cpu) => _loaded[cpu].Size;
    public int PrevSize(int cpu) => _prev[cpu].Size;

    /// <summary>Visits every cached pfn (loaded, prev of each CPU, then the depot) for validation.</summary>
    public void ForEachCached(Action<ulong> visit)
    {
        for (int c = 0; c < _loaded.Length; c++)
        {
            for (int i = 0; i < _loaded[c].Size; i++) visit(_loaded[c].Pfns[i]);
            for (int i = 0; i < _prev[c].Size; i++) visit(_prev[c].Pfns[i]);
        }
        for (var m = _depot; m != null; m = m.Next)
            for (int i = 0; i < IovaMagazine.MagSize; i++) visit(m.Pfns[i]);
    }

    void DepotPush(IovaMagazine mag)
    {
        mag.Next = _depot;
        _depot = mag;
        DepotSize++;
    }

    IovaMagazine DepotPop()
    {
        var mag = _depot!;
        _depot = mag.Next;
        mag.Next = null;
        mag.Size = IovaMagazine.MagSize; // only full magazines live in the depot
        DepotSize--;
        return mag;
    }

    /// <summary>schedule_delayed_work(): a no-op while the work is already pending.</summary>
    void ScheduleWork(ulong nowNs)
    {
        if (WorkDueNs != ulong.MaxValue) return;
        WorkDueNs = nowNs + _domain.DepotDelayNs;
        _domain.NoteWorkScheduled(WorkDueNs);
    }

    /// <summary>Linux: __iova_rcache_insert(). Never fails here: the magazine allocation is modelled as succeeding.</summary>
    public bool Insert(int cpu, ulong pfn, ulong nowNs)
    {
        var loaded = _loaded[cpu];
        if (loaded.Size == IovaMagazine.MagSize)
        {
            var prev = _prev[cpu];
            if (prev.Size != IovaMagazine.MagSize)
            {
                _prev[cpu] = loaded;
                _loaded[cpu] = loaded = prev;
            }
            else
            {
                var fresh = _domain.MagazineAlloc();
                if (_domain.DepotLimit > 0 && DepotSize >= _domain.DepotLimit)
                {
                    // v6.1: the depot array is full, so the loaded magazine's pfns go back to the tree.
                    _domain.MagazineFreePfns(loaded);
                    _domain.MagazineFree(loaded);
                }
                else
                {
                    DepotPush(loaded);
                    _domain.Stats.DepotPushes++;
                    if (_domain.DepotLimit == 0) ScheduleWork(nowNs);
                }
                _loaded[cpu] = loaded = fresh;
            }
        }
        loaded.Pfns[loaded.Size++] = pfn;
        return true;
    }

    /// <summary>Linux: __iova_rcache_get(). <paramref name="limitPfn"/> is the highest acceptable pfn_lo.</summary>
    public ulong Get(int cpu, ulong limitPfn)
    {
        var loaded = _loaded[cpu];
        if (loaded.Size == 0)
        {
            var prev = _prev[cpu];
            if (prev.Size != 0)
            {
                _prev[cpu] = loaded;
                _loaded[cpu] = loaded = prev;
            }
            else if (_depot != null)
            {
                _domain.MagazineFree(loaded);
                _loaded[cpu] = loaded = DepotPop();
            }
            else
            {
                return 0;
            }
        }
        return loaded.Pop(limitPfn);
    }

    /// <summary>What <see cref="Get"/> would return, changing nothing.</summary>
    public ulong Peek(int cpu, ulong limitPfn)
    {
        var loaded = _loaded[cpu];
        if (loaded.Size == 0)
        {
            if (_prev[cpu].Size != 0) loaded = _prev[cpu];
            else if (_depot != null) loaded = _depot; // depot magazines are full
            else return 0;
        }
        return loaded.Peek(limitPfn);
    }

    /// <summary>Takes <paramref name="pfn"/> out of the loaded or previous magazine of whichever CPU holds it
    /// (<paramref name="cpu"/> first); false when none does. The depot is left alone: its magazines stay full.</summary>
    public bool Remove(int cpu, ulong pfn)
    {
        for (int k = 0; k < _loaded.Length; k++)
        {
            int c = (cpu + k) % _loaded.Length;
            if (_loaded[c].Remove(pfn) || _prev[c].Remove(pfn)) return true;
        }
        return false;
    }

    /// <summary>Like <see cref="Insert"/>, but below the lowest of <paramref name="above"/> in <paramref name="cpu"/>'s
    /// loaded magazine (see <see cref="IovaMagazine.InsertBelow"/>); false when that cannot be done.</summary>
    public bool InsertBelow(int cpu, ulong pfn, ReadOnlySpan<ulong> above) => _loaded[cpu].InsertBelow(pfn, above);

    /// <summary>Whether <paramref name="cpu"/>'s loaded magazine holds <paramref name="pfn"/>.</summary>
    public bool LoadedHolds(int cpu, ulong pfn) => _loaded[cpu].Holds(pfn);

    /// <summary>Linux: iova_depot_work_func(): trims one magazine while the depot holds more than one per online CPU.</summary>
    public void RunWork(ulong nowNs, int onlineCpus)
    {
        WorkDueNs = ulong.MaxValue;
        if (DepotSize > onlineCpus)
        {
            var mag = DepotPop();
            _domain.MagazineFreePfns(mag);
            _domain.MagazineFree(mag);
            _domain.Stats.DepotTrims++;
            ScheduleWork(nowNs);
        }
    }

    /// <summary>Linux: free_cpu_cached_iovas() for this size class.</summary>
    public void FreeCpuCached(int cpu)
    {
        _domain.MagazineFreePfns(_loaded[cpu]);
        _domain.MagazineFreePfns(_prev[cpu]);
    }

    /// <summary>Linux: free_global_cached_iovas() for this size class.</summary>
    public void FreeGlobalCached()
    {
        while (_depot != null)
        {
            var mag = DepotPop();
            _domain.MagazineFreePfns(mag);
            _domain.MagazineFree(mag);
        }
    }
}
