using CsCheck;
using DmaLab.Dma;
using DmaLab.Mm;

namespace DmaLab.Tests.Dma;

/// <summary>
/// Random streaming-DMA sessions on a non-coherent device: with every required sync the CPU and the device always
/// see each other's latest bytes and nothing is reported; dropping the one sync a step needs always produces a
/// stale-data finding.
/// </summary>
public class NoncoherentPropertyTests
{
    // One step: direction, buffer length (bytes), offset in the page, and which sync (if any) to drop.
    static readonly Gen<(DmaDirection Dir, int Len, int Off, int Drop)[]> Steps =
        Gen.Select(Gen.Int[0, 1], Gen.Int[1, 8], Gen.Int[0, 3], Gen.Int[0, 2])
           .Select((d, l, o, x) => (d == 0 ? DmaDirection.ToDevice : DmaDirection.FromDevice, l * 64, o * 64, x))
           .Array[1, 6];

    static int Run((DmaDirection Dir, int Len, int Off, int Drop)[] steps, bool dropSyncs, out int wrong)
    {
        var m = new DmaTestMachine(DmaTestMachine.Arm64());
        var dev = m.Device("isp", 64, coherent: false);
        var page = m.Pages(0, Gfp.Dma);
        wrong = 0;
        byte stamp = 1;
        foreach (var (dir, len, off, drop) in steps)
        {
            var buf = page + (ulong)off;
            var data = new byte[len];
            var seen = new byte[len];
            // The CPU owns the buffer first and writes it (lines dirty), as drivers prepare a buffer.
            for (int i = 0; i < len; i++) data[i] = stamp++;
            m.Cache.CpuWrite(buf, data);
            var dma = m.Api.MapPage(0, dev, buf, (ulong)len, dir);
            m.Api.MappingError(dev, dma);
            if (dir == DmaDirection.ToDevice)
            {
                // Driver updates the buffer after mapping (every byte changes), then must hand it back to the device.
                for (int i = 0; i < len; i++) data[i] = (byte)~data[i];
                m.Cache.CpuWrite(buf, data);
                if (!(dropSyncs && drop != 0)) m.Api.SyncSingleForDevice(0, dev, dma, (ulong)len, dir);
                m.Cache.DeviceRead(dev.Name, false, buf, seen);
                if (!seen.AsSpan().SequenceEqual(data)) wrong++;
                m.Api.UnmapPage(0, dev, dma, (ulong)len, dir);
            }
            else
            {
                m.Cache.CpuRead(buf, seen);                       // CPU peeks: lines cached clean
                for (int i = 0; i < len; i++) data[i] = (byte)~data[i];
                m.Cache.DeviceWrite(dev.Name, false, buf, data);
                if (!(dropSyncs && drop != 0)) m.Api.SyncSingleForCpu(0, dev, dma, (ulong)len, dir);
                m.Cache.CpuRead(buf, seen);
                if (!seen.AsSpan().SequenceEqual(data)) wrong++;
                m.Api.UnmapPage(0, dev, dma, (ulong)len, dir);
            }
        }
        return m.Cache.Findings.Count + m.Debug.Findings.Count;
    }

    [Fact]
    public void Correct_use_never_shows_stale_data()
    {
        Steps.Sample(s =>
        {
            int findings = Run(s, false, out int wrong);
            return findings == 0 && wrong == 0;
        }, iter: 100, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Dropping_a_required_sync_always_shows_stale_data()
    {
        Steps.Where(s => s.Any(x => x.Drop != 0)).Sample(s =>
        {
            int findings = Run(s, true, out int wrong);
            int dropped = s.Count(x => x.Drop != 0);
            return findings >= dropped && wrong >= dropped;
        }, iter: 100, seed: "0N0XIzNsQ0O2");
    }
}
