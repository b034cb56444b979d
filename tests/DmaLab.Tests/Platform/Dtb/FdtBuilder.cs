using System.Buffers.Binary;
using System.Text;

namespace DmaLab.Tests.Platform.Dtb;

/// <summary>Writes small version-17 blobs for tests (a reference writer of the spec's layout, chapter 5).</summary>
internal sealed class FdtBuilder
{
    readonly List<byte> _struct = new();
    readonly List<byte> _strings = new();
    readonly Dictionary<string, int> _names = new();
    public List<(ulong, ulong)> Reserve { get; } = new();

    void U32(uint v) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); _struct.AddRange(b.ToArray()); }
    void Pad() { while (_struct.Count % 4 != 0) _struct.Add(0); }

    public FdtBuilder Begin(string name) { U32(1); _struct.AddRange(Encoding.ASCII.GetBytes(name)); _struct.Add(0); Pad(); return this; }
    public FdtBuilder End() { U32(2); return this; }

    public FdtBuilder Prop(string name, byte[] value)
    {
        if (!_names.TryGetValue(name, out int off))
        {
            off = _strings.Count;
            _names[name] = off;
            _strings.AddRange(Encoding.ASCII.GetBytes(name));
            _strings.Add(0);
        }
        U32(3); U32((uint)value.Length); U32((uint)off);
        _struct.AddRange(value);
        Pad();
        return this;
    }

    public FdtBuilder Cells(string name, params uint[] cells)
    {
        var b = new byte[cells.Length * 4];
        for (int i = 0; i < cells.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(i * 4), cells[i]);
        return Prop(name, b);
    }

    public FdtBuilder Str(string name, params string[] values) => Prop(name, Encoding.ASCII.GetBytes(string.Concat(values.Select(v => v + "\0"))));
    public FdtBuilder Flag(string name) => Prop(name, Array.Empty<byte>());

    public byte[] Build()
    {
        var st = new List<byte>(_struct);
        st.AddRange(new byte[] { 0, 0, 0, 9 });
        int rsv = 40, rsvSize = (Reserve.Count + 1) * 16;
        int offStruct = rsv + rsvSize, offStrings = offStruct + st.Count, total = offStrings + _strings.Count;
        var b = new byte[total];
        void W(int o, uint v) => BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(o), v);
        W(0, 0xd00dfeed); W(4, (uint)total); W(8, (uint)offStruct); W(12, (uint)offStrings); W(16, (uint)rsv);
        W(20, 17); W(24, 16); W(28, 0); W(32, (uint)_strings.Count); W(36, (uint)st.Count);
        for (int i = 0; i < Reserve.Count; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(rsv + i * 16), Reserve[i].Item1);
            BinaryPrimitives.WriteUInt64BigEndian(b.AsSpan(rsv + i * 16 + 8), Reserve[i].Item2);
        }
        st.CopyTo(b, offStruct);
        _strings.CopyTo(b, offStrings);
        return b;
    }

    /// <summary>A small SoC: memory, a reserved CMA pool, an SMMU, a bus with dma-ranges, two masters.</summary>
    public static byte[] SmallSoc()
    {
        var f = new FdtBuilder();
        f.Reserve.Add((0x8000_0000, 0x1000));
        f.Begin("").Cells("#address-cells", 2).Cells("#size-cells", 2).Str("model", "Test SoC").Str("compatible", "test,soc")
            .Begin("chosen").Str("bootargs", "console=ttyS0 iommu.strict=0 cma=32M").End()
            .Begin("memory@80000000").Str("device_type", "memory").Cells("reg", 0, 0x8000_0000, 0, 0x4000_0000).End()
            .Begin("reserved-memory").Cells("#address-cells", 2).Cells("#size-cells", 2).Flag("ranges")
                .Begin("linux,cma").Str("compatible", "shared-dma-pool").Flag("reusable").Flag("linux,cma-default")
                    .Cells("size", 0, 0x200_0000).Cells("alignment", 0, 0x40_0000).Cells("alloc-ranges", 0, 0x8000_0000, 0, 0x4000_0000).Cells("phandle", 9).End()
            .End()
            .Begin("soc").Str("compatible", "simple-bus").Cells("#address-cells", 1).Cells("#size-cells", 1)
                .Cells("ranges", 0, 0, 0, 0x4000_0000).Cells("dma-ranges", 0, 0, 0x8000_0000, 0x4000_0000)
                .Begin("iommu@1000").Str("compatible", "arm,mmu-500").Cells("reg", 0x1000, 0x1000).Cells("#iommu-cells", 2)
                    .Flag("dma-coherent").Cells("phandle", 1).End()
                .Begin("dma@2000").Str("compatible", "test,dma").Cells("reg", 0x2000, 0x100).Cells("iommus", 1, 0x400, 0x3f)
                    .Cells("memory-region", 9).End()
                .Begin("gpu@3000").Str("compatible", "test,gpu").Cells("reg", 0x3000, 0x100).Cells("iommus", 1, 0x800, 0, 1, 0x801, 0)
                    .Str("status", "disabled").End()
            .End()
        .End();
        return f.Build();
    }
}
