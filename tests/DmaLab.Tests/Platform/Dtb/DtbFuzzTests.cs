using System.Buffers.Binary;
using CsCheck;
using DmaLab.Platform;
using DmaLab.Platform.Dtb;
using DmaLab.Sim;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>
/// Fuzzing of device-tree import: the real DTBs of tests/data/dtb with bits flipped, header fields and property
/// lengths overwritten, words of the structure block set to the values that break code (0, 1, 0xffffffff, a
/// phandle of another node) and the blob cut. The property: `platform import` ends in a report or a
/// <see cref="DtbFormatException"/>, `--platform FILE.dtb` in a platform or a one-line error, and a platform that
/// loads boots and maps a page on every device, in bounded time and memory.
/// </summary>
public class DtbFuzzTests
{
    static readonly byte[][] Blobs = DtbSamples.Files.Select(DtbSamples.Load).ToArray();

    static readonly uint[] Words = [0, 1, 2, 3, 4, 0x10, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

    internal static byte[] Mutate(ulong seed, out string name)
    {
        var rng = new Rng(seed);
        int which = rng.Next(0, Blobs.Length);
        name = DtbSamples.Files.ElementAt(which);
        var b = (byte[])Blobs[which].Clone();
        uint offStruct = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(8));
        int mutations = rng.Next(1, 5);
        for (int m = 0; m < mutations; m++)
        {
            switch (rng.Next(0, 5))
            {
                case 0:
                    b[rng.Next(0, b.Length)] ^= (byte)(1 << rng.Next(0, 8));
                    break;
                case 1: // a header field (totalsize, offsets, version, sizes)
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 * rng.Next(1, 10)), Words[rng.Next(0, Words.Length)]);
                    break;
                case 2: // an aligned word of the structure block: a token, a property length or name offset, a cell
                {
                    if (offStruct + 8 >= b.Length) break;
                    int at = (int)offStruct + 4 * rng.Next(0, (int)((b.Length - offStruct) / 4) - 1);
                    uint w = rng.Chance(0.7) ? Words[rng.Next(0, Words.Length)] : (uint)rng.NextU64();
                    BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), w);
                    break;
                }
                case 3: // copy a word from elsewhere (phandles, addresses of other nodes)
                {
                    int from = 4 * rng.Next(0, b.Length / 4), to = 4 * rng.Next(0, b.Length / 4);
                    b.AsSpan(from, 4).CopyTo(b.AsSpan(to));
                    break;
                }
                default:
                    if (rng.Chance(0.3)) b = b[..rng.Next(0, b.Length)];
                    break;
            }
        }
        return b;
    }

    [Fact]
    public void Mutated_real_device_trees_import_or_fail_cleanly_and_boot_when_they_load() =>
        Gen.ULong.Sample(seed =>
        {
            var blob = Mutate(seed, out string name);
            FuzzBudget.Bounded($"seed {seed} ({name}, {blob.Length} bytes)", () =>
            {
                try { DtbImporter.Import(blob, name); }
                catch (DtbFormatException e) { Assert.DoesNotContain('\n', e.Message); return; }
                PlatformSpec spec;
                try { spec = DtbPlatform.Load(new MemoryStream(blob), name); }
                catch (PlatformSpecException e) { Assert.StartsWith(name + ":", e.Message); return; }
                var yaml = PlatformLoader.Save(spec);
                PlatformFuzzTests.LoadBootMap(yaml, name + ".yaml");
            }, _ => false);
        }, iter: FuzzBudget.Cases(200));
}
