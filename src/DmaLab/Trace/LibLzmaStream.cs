using System.Runtime.InteropServices;

namespace DmaLab.Trace;

/// <summary>
/// An .xz decoder over the system's liblzma (the library `xz -d` itself uses; Debian's liblzma5, present wherever
/// xz-utils or systemd is). Captures are usually piped through xz (README), and the managed decoder costs about
/// 1.4 µs per trace event — several times the parsing and the replay together — so the native one is used when it
/// can be loaded; <see cref="TryOpen"/> returns null otherwise and the caller falls back to the managed decoder.
/// Decodes concatenated streams like `xz -d` (LZMA_CONCATENATED). Decoding errors surface from
/// <see cref="Read(Span{byte})"/> as <see cref="InvalidDataException"/> naming liblzma's code.
/// </summary>
internal sealed unsafe class LibLzmaStream : ReadOnlyStream
{
    // liblzma's C API (lzma/base.h, lzma/container.h), values of its enums.
    const int LzmaOk = 0, LzmaStreamEnd = 1, LzmaRun = 0, LzmaFinish = 3;
    const uint LzmaConcatenated = 0x08;
    const int InputBytes = 1 << 16;

    /// <summary>lzma_stream of lzma/base.h, field for field (LP64 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct LzmaStreamState
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
        public void* Allocator;
        public void* Internal;
        public void* Reserved1, Reserved2, Reserved3, Reserved4;
        public ulong SeekPos, ReservedInt2;
        public nuint ReservedInt3, ReservedInt4;
        public int ReservedEnum1, ReservedEnum2;
    }

    /// <summary>lzma_mt of lzma/container.h (the decoder uses flags, threads, timeout, memlimit_threading and
    /// memlimit_stop), field for field (LP64 layout).</summary>
    [StructLayout(LayoutKind.Sequential)]
    struct LzmaMt
    {
        public uint Flags, Threads;
        public ulong BlockSize;
        public uint Timeout, Preset;
        public void* Filters;
        public int Check, ReservedEnum1, ReservedEnum2, ReservedEnum3;
        public uint ReservedInt1, ReservedInt2, ReservedInt3, ReservedInt4;
        public ulong MemlimitThreading, MemlimitStop, ReservedInt7, ReservedInt8;
        public void* ReservedPtr1, ReservedPtr2, ReservedPtr3, ReservedPtr4;
    }

    sealed class Api
    {
        public delegate* unmanaged<LzmaStreamState*, ulong, uint, int> StreamDecoder;
        /// <summary>lzma_stream_decoder_mt (liblzma 5.4+); null on older libraries.</summary>
        public delegate* unmanaged<LzmaStreamState*, LzmaMt*, int> StreamDecoderMt;
        public delegate* unmanaged<LzmaStreamState*, int, int> Code;
        public delegate* unmanaged<LzmaStreamState*, void> End;
    }

    static readonly Api? Lib = Load();

    static Api? Load()
    {
        foreach (var name in new[] { "liblzma.so.5", "liblzma.so", "liblzma.5.dylib", "liblzma.dll" })
        {
            if (!NativeLibrary.TryLoad(name, out nint h)) continue;
            if (NativeLibrary.TryGetExport(h, "lzma_stream_decoder", out nint dec)
                && NativeLibrary.TryGetExport(h, "lzma_code", out nint code)
                && NativeLibrary.TryGetExport(h, "lzma_end", out nint end))
            {
                NativeLibrary.TryGetExport(h, "lzma_stream_decoder_mt", out nint decMt);
                return new Api
                {
                    StreamDecoder = (delegate* unmanaged<LzmaStreamState*, ulong, uint, int>)dec,
                    StreamDecoderMt = (delegate* unmanaged<LzmaStreamState*, LzmaMt*, int>)decMt,
                    Code = (delegate* unmanaged<LzmaStreamState*, int, int>)code,
                    End = (delegate* unmanaged<LzmaStreamState*, void>)end,
                };
            }
        }
        return null;
    }

    /// <summary>True when liblzma could be loaded on this machine.</summary>
    public static bool Available => Lib is not null;

    readonly Stream _source;
    readonly Api _api;
    readonly byte[] _input = GC.AllocateUninitializedArray<byte>(InputBytes, pinned: true);
    LzmaStreamState* _s;
    bool _sourceDone, _ended;

    LibLzmaStream(Stream source, Api api)
    {
        _source = source;
        _api = api;
        _s = (LzmaStreamState*)NativeMemory.AllocZeroed((nuint)sizeof(LzmaStreamState)); // LZMA_STREAM_INIT
        int ret;
        if (api.StreamDecoderMt != null && Environment.ProcessorCount > 1)
        {
            // Blocks of a multi-block file (`xz -T`) decode in parallel; a single-block file decodes as it would
            // single-threaded. The threading memory limit keeps the decoder from buffering more than it needs.
            var mt = new LzmaMt
            {
                Flags = LzmaConcatenated,
                Threads = (uint)Math.Min(Environment.ProcessorCount, 4),
                MemlimitThreading = 512UL << 20,
                MemlimitStop = ulong.MaxValue,
            };
            ret = api.StreamDecoderMt(_s, &mt);
        }
        else ret = api.StreamDecoder(_s, ulong.MaxValue, LzmaConcatenated);
        if (ret != LzmaOk)
        {
            NativeMemory.Free(_s);
            _s = null;
            throw new InvalidDataException($"liblzma: lzma_stream_decoder failed ({CodeName(ret)})");
        }
    }

    /// <summary>A decoder over <paramref name="source"/>, or null when liblzma is not available.</summary>
    public static LibLzmaStream? TryOpen(Stream source) => Lib is { } api ? new LibLzmaStream(source, api) : null;


    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_s is null, this);
        if (_ended || buffer.IsEmpty) return 0;
        fixed (byte* output = buffer)
        fixed (byte* input = _input)
        {
            _s->NextOut = output;
            _s->AvailOut = (nuint)buffer.Length;
            // Decode until some output is produced (or the stream ends): a Read of 0 means end of stream.
            while (_s->AvailOut == (nuint)buffer.Length)
            {
                if (_s->AvailIn == 0 && !_sourceDone)
                {
                    int n = _source.Read(_input, 0, _input.Length);
                    if (n <= 0) _sourceDone = true;
                    _s->NextIn = input;
                    _s->AvailIn = (nuint)Math.Max(n, 0);
                }
                int ret = _api.Code(_s, _sourceDone ? LzmaFinish : LzmaRun);
                if (ret == LzmaStreamEnd) { _ended = true; break; }
                if (ret != LzmaOk) throw new InvalidDataException($"liblzma: {CodeName(ret)}");
            }
            int produced = buffer.Length - (int)_s->AvailOut;
            _s->NextOut = null; // the span is only pinned during this call
            _s->AvailOut = 0;
            return produced;
        }
    }

    /// <summary>lzma_ret names (lzma/base.h).</summary>
    static string CodeName(int ret) => ret switch
    {
        5 => "LZMA_MEM_ERROR (cannot allocate memory)",
        6 => "LZMA_MEMLIMIT_ERROR (memory usage limit reached)",
        7 => "LZMA_FORMAT_ERROR (file format not recognized)",
        8 => "LZMA_OPTIONS_ERROR (unsupported options)",
        9 => "LZMA_DATA_ERROR (compressed data is corrupt)",
        10 => "LZMA_BUF_ERROR (unexpected end of input: truncated file)",
        11 => "LZMA_PROG_ERROR (programming error)",
        _ => $"error {ret}",
    };

    protected override void Dispose(bool disposing)
    {
        if (_s is not null)
        {
            _api.End(_s);
            NativeMemory.Free(_s);
            _s = null;
        }
        if (disposing) _source.Dispose();
        base.Dispose(disposing);
    }

}
