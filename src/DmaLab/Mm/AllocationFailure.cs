namespace DmaLab.Mm;

/// <summary>
/// One "page allocation failure" warning, as warn_alloc() prints it (Linux: mm/page_alloc.c,
/// __alloc_pages_slowpath() → warn_alloc()). Kept as data: the report shows them, nothing throws.
/// </summary>
public sealed record AllocationFailure(int Order, Gfp Gfp, ZoneType HighestZone, string Message);
