namespace DmaLab.Iommu.Hardware;

/// <summary>The driver side of a translation unit: decodes stream configuration from its tables/registers and receives faults.</summary>
public interface ITranslationOwner
{
    /// <summary>Reads and decodes the configuration of the stream on <paramref name="port"/> (configuration-cache miss).</summary>
    StreamConfig FetchConfig(int port, uint streamId);
    /// <summary>The hardware aborted a transaction: record it (event queue, fault registers) and report it.</summary>
    void RecordFault(int port, uint streamId, in StreamConfig config, ulong iova, bool write, IommuFaultReason reason);
}
