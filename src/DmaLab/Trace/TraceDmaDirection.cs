namespace DmaLab.Trace;

/// <summary>
/// The direction a trace line prints (Linux: include/linux/dma-direction.h, enum dma_data_direction). Values equal
/// the kernel's, so a cast converts to the model's own direction type.
/// </summary>
public enum TraceDmaDirection : byte
{
    Bidirectional = 0,
    ToDevice = 1,
    FromDevice = 2,
    None = 3,
}
