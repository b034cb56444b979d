using System.Runtime.CompilerServices;

namespace DmaLab.Iova;

/// <summary>
/// A fixed-size stack of cached IOVA pfns (Linux: drivers/iommu/iova.c, struct iova_magazine, IOVA_MAG_SIZE = 127
/// so that the kernel object is exactly 1 KiB). <see cref="Next"/> links full magazines in the depot list.
/// </summary>
internal sealed class IovaMagazine
{
    /// <summary>Linux: iova.c, IOVA_MAG_SIZE.</summary>
    public const int MagSize = 127;

    /// <summary>The pfns, held in the magazine object itself (one load less on every rcache hit than an array).</summary>
    [InlineArray(MagSize)]
    internal struct PfnArray
    {
        ulong _pfn;
    }

    public PfnArray Pfns;
    public int Size;
    public IovaMagazine? Next;

    public bool IsFull => Size == MagSize;
    public bool IsEmpty => Size == 0;

    public void Push(ulong pfn) => Pfns[Size++] = pfn;

    /// <summary>Takes <paramref name="other"/>'s pfns and size (not its depot link).</summary>
    public void CopyFrom(IovaMagazine other)
    {
        Pfns = other.Pfns;
        Size = other.Size;
    }

    /// <summary>What <see cref="Pop"/> would return, without popping.</summary>
    public ulong Peek(ulong limitPfn)
    {
        for (int i = Size - 1; i >= 0; i--)
            if (Pfns[i] <= limitPfn) return Pfns[i];
        return 0;
    }

    /// <summary>
    /// Linux: iova_magazine_pop(). Scans from the most recently pushed entry downwards for the first pfn at or
    /// below <paramref name="limitPfn"/>, moves the top entry into its slot and returns it; 0 if none qualifies.
    /// </summary>
    public ulong Pop(ulong limitPfn)
    {
        Span<ulong> pfns = Pfns;
        int i = Size - 1;
        while (pfns[i] > limitPfn)
        {
            if (i == 0) return 0;
            i--;
        }
        ulong pfn = pfns[i];
        pfns[i] = pfns[--Size];
        return pfn;
    }

    /// <summary>Whether the magazine holds <paramref name="pfn"/>.</summary>
    public bool Holds(ulong pfn) => ((ReadOnlySpan<ulong>)Pfns)[..Size].Contains(pfn);

    /// <summary>Takes <paramref name="pfn"/> out wherever it sits, the entries above it moving down one (their order
    /// kept); false when the magazine does not hold it.</summary>
    public bool Remove(ulong pfn)
    {
        Span<ulong> pfns = Pfns;
        for (int i = Size - 1; i >= 0; i--)
        {
            if (pfns[i] != pfn) continue;
            pfns[(i + 1)..Size].CopyTo(pfns[i..]);
            Size--;
            return true;
        }
        return false;
    }

    /// <summary>Puts <paramref name="pfn"/> right below the lowest entry that is one of <paramref name="above"/>,
    /// the entries from there up moving up one; false (nothing changed) when the magazine is full or holds none of
    /// them.</summary>
    public bool InsertBelow(ulong pfn, ReadOnlySpan<ulong> above)
    {
        if (IsFull) return false;
        Span<ulong> pfns = Pfns;
        for (int i = 0; i < Size; i++)
        {
            if (!above.Contains(pfns[i])) continue;
            pfns[i..Size].CopyTo(pfns[(i + 1)..]);
            pfns[i] = pfn;
            Size++;
            return true;
        }
        return false;
    }
}
