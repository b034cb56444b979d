namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// One CPU's ring-buffer data in a .dat file, read a page at a time (uncompressed) or a chunk at a time (v7
/// compressed: a count of chunks, each "compressed size, uncompressed size, data", the uncompressed data a whole
/// number of pages; trace-cmd.dat.v7(5), COMPRESSION FORMAT OF THE TRACE DATA), so memory is a few pages or one
/// chunk per CPU whatever the file's size. <see cref="Advance"/> steps to the next data event across pages.
/// </summary>
internal sealed class TraceCmdCpu
{
    readonly TraceCmdFile _file;
    readonly Stream _stream;
    readonly string _source;
    readonly RingBufferPage _page;
    readonly long _end;
    long _next;             // file offset of the next page (uncompressed) or chunk header (compressed)
    uint _chunksLeft;
    byte[] _buf;            // the current page, or the current chunk's pages
    int _bufLength, _bufPos;
    long _bufFileOffset;    // file offset of the current page, or of the current chunk's data
    bool _pageOpen, _done;

    public TraceCmdCpu(TraceCmdFile file, Stream stream, string source, TraceCmdCpuData data)
    {
        _file = file;
        _stream = stream;
        _source = source;
        Cpu = data.Cpu;
        _next = data.Offset;
        // A compressed CPU's size counts its chunks, not the chunk count before them (as trace-cmd 3.x writes it).
        _end = Math.Min(file.FileLength, data.Offset + data.Size + (file.CpuDataCompressed ? 4 : 0));
        _page = new RingBufferPage(file.BigEndian, file.PageTimestampOffset, file.PageCommitOffset, file.KernelLongSize, file.PageDataOffset);
        _buf = new byte[file.CpuDataCompressed ? file.PageSize : file.PageSize * PagesPerRead];
        if (file.CpuDataCompressed)
        {
            var h = Read(_next, 4, "the chunk count");
            _chunksLeft = file.BigEndian ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(h) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(h);
            _next += 4;
            if (_chunksLeft > (ulong)(data.Size / 8)) throw Error(data.Offset, $"chunk count {_chunksLeft} is more than the CPU's {data.Size} bytes can hold");
        }
    }

    /// <summary>Pages read at once from an uncompressed file (64 KiB of 4 KiB pages per CPU).</summary>
    const int PagesPerRead = 16;

    public int Cpu { get; }
    /// <summary>The current event: its payload is <see cref="Buffer"/>[<see cref="DataStart"/>..+<see cref="DataLength"/>].</summary>
    public byte[] Buffer => _buf;
    public int DataStart { get; private set; }
    public int DataLength { get; private set; }
    public ulong Timestamp { get; private set; }
    /// <summary>Events lost before the current event (set when its page said so; -1 when the count is unknown);
    /// the reader takes it and resets it.</summary>
    public long LostBefore { get; set; }
    public bool LostPending { get; set; }
    /// <summary>Bytes of ring-buffer pages read so far.</summary>
    public long PageBytes { get; private set; }

    TraceFormatException Error(long offset, string what) => new(_source, 0, offset, $"CPU {Cpu}: {what}");

    /// <summary>Moves to the next data event of this CPU; false when it has no more.</summary>
    public bool Advance()
    {
        while (!_done)
        {
            if (_pageOpen)
            {
                bool more;
                int start, length;
                try { more = _page.Next(out start, out length); }
                catch (InvalidDataException ex) { throw Error(WhereInPage(_page.EventOffset), ex.Message); }
                if (more)
                {
                    DataStart = start;
                    DataLength = length;
                    Timestamp = _page.Timestamp;
                    return true;
                }
                _pageOpen = false;
            }
            if (!NextPage()) { _done = true; return false; }
        }
        return false;
    }

    /// <summary>The file offset of a byte of the current page, or of the current chunk's compressed data.</summary>
    long WhereInPage(int pos) => _file.CpuDataCompressed ? _bufFileOffset : _bufFileOffset + pos;

    bool NextPage()
    {
        int pageSize = _file.PageSize;
        int pageStart;
        if (_file.CpuDataCompressed)
        {
            while (_bufPos >= _bufLength) // an empty chunk holds no page: take the next
            {
                if (_chunksLeft == 0) return false;
                _chunksLeft--;
                LoadChunk();
            }
            pageStart = _bufPos;
            _bufPos += pageSize;
        }
        else
        {
            if (_bufPos >= _bufLength)
            {
                // A few pages per read: one read per page would be a system call per few dozen events.
                if (_next >= _end) return false;
                int n = (int)Math.Min(_buf.Length, _end - _next);
                _stream.Position = _next;
                _stream.ReadExactly(_buf, 0, n);
                _bufFileOffset = _next;
                _next += n;
                _bufLength = n;
                _bufPos = 0;
            }
            if (_bufLength - _bufPos < pageSize)
                throw Error(_bufFileOffset + _bufPos, $"cut: the last page has {_bufLength - _bufPos} of its {pageSize} bytes");
            pageStart = _bufPos;
            _bufPos += pageSize;
        }
        var bad = _page.Begin(_buf, pageStart, pageSize);
        if (bad is not null)
            throw _file.CpuDataCompressed ? Error(_bufFileOffset, $"page {pageStart / pageSize} of the chunk: {bad}") : Error(_bufFileOffset + pageStart, bad);
        PageBytes += pageSize;
        if (_page.LostBefore != 0)
        {
            // Pages without events in between add up until the next event takes them.
            long before = LostPending ? LostBefore : 0;
            LostBefore = before < 0 || _page.LostBefore < 0 ? -1 : before + _page.LostBefore;
            LostPending = true;
        }
        _pageOpen = true;
        return true;
    }

    void LoadChunk()
    {
        long at = _next;
        var h = Read(_next, 8, "a chunk header");
        bool be = _file.BigEndian;
        uint csize = be ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(h) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(h);
        uint usize = be ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(h[4..]) : System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
        _next += 8;
        if (csize > _end - _next) throw Error(at, $"chunk of {csize} compressed bytes runs past the CPU's data ({_end - _next} bytes left)");
        if (usize > TraceCmdFile.MaxBlockBytes) throw Error(at + 4, $"chunk of {usize} uncompressed bytes is over the {TraceCmdFile.MaxBlockBytes >> 20} MiB limit");
        if (usize % (uint)_file.PageSize != 0) throw Error(at + 4, $"chunk of {usize} uncompressed bytes is not a whole number of {_file.PageSize}-byte pages");
        var raw = Read(_next, (int)csize, "compressed chunk data");
        _bufFileOffset = _next;
        _next += csize;
        if (_buf.Length < usize) _buf = new byte[usize];
        try { _file.Decoder!.Decompress(raw, _buf.AsSpan(0, (int)usize)); }
        catch (InvalidDataException ex) { throw Error(_bufFileOffset, ex.Message); }
        _bufLength = (int)usize;
        _bufPos = 0;
    }

    byte[] _raw = [];

    ReadOnlySpan<byte> Read(long offset, int count, string what)
    {
        if (offset + count > _end) throw Error(offset, $"cut: expected {what} ({count} bytes), the CPU's data ends at {_end}");
        if (_raw.Length < count) _raw = new byte[Math.Max(count, 4096)];
        _stream.Position = offset;
        _stream.ReadExactly(_raw, 0, count);
        return _raw.AsSpan(0, count);
    }
}
