using System.Buffers.Binary;

namespace DmaLab.Trace.TraceCmd;

/// <summary>
/// Walks the events of one ftrace ring-buffer page as the kernel's reader does (Linux: kernel/trace/ring_buffer.c):
/// the page header (a 64-bit timestamp, then the commit word whose low 30 bits are the bytes of events, bit 31
/// RB_MISSED_EVENTS: events were lost before this page, bit 30 RB_MISSED_STORED: their count, a long, follows the
/// events), then event headers of 32 bits, type_len (5 bits) and time_delta (27 bits), low bits first on a
/// little-endian kernel:
/// <list type="bullet">
/// <item>type_len 1..28: a data event of type_len × 4 bytes right after the header.</item>
/// <item>type_len 0: a data event whose length (plus 4) is in the next 32-bit word; the data follows that word.</item>
/// <item>29 RINGBUF_TYPE_PADDING: with time_delta 0, the rest of the page is empty; otherwise a discarded event
/// whose length is in the next word. Its delta is not added (rb_update_read_stamp()).</item>
/// <item>30 RINGBUF_TYPE_TIME_EXTEND: a delta too large for 27 bits, time_delta + (next word &lt;&lt; 27).</item>
/// <item>31 RINGBUF_TYPE_TIME_STAMP: an absolute timestamp of 59 bits, the top 5 taken from the running time
/// (rb_fix_abs_ts()).</item>
/// </list>
/// Data events advance the running time by their delta; the first delta counts from the page timestamp.
/// </summary>
internal sealed class RingBufferPage
{
    const uint MissedEvents = 1u << 31, MissedStored = 1u << 30;
    const int TypePadding = 29, TypeTimeExtend = 30, TypeTimeStamp = 31;
    const int TsShift = 27;
    const ulong TsMsb = 0xf8UL << 56;

    readonly bool _bigEndian;
    readonly int _tsOffset, _commitOffset, _commitSize, _dataOffset;
    byte[] _page = [];
    int _pos, _end;
    ulong _ts;

    public RingBufferPage(bool bigEndian, int timestampOffset, int commitOffset, int commitSize, int dataOffset)
    {
        _bigEndian = bigEndian;
        _tsOffset = timestampOffset;
        _commitOffset = commitOffset;
        _commitSize = commitSize;
        _dataOffset = dataOffset;
    }

    /// <summary>The page's base timestamp.</summary>
    public ulong PageTimestamp { get; private set; }
    /// <summary>Bytes of events on the page (the commit word without its flags).</summary>
    public int CommitBytes { get; private set; }
    /// <summary>Events were lost before this page: their count, or -1 when the kernel could not store it.</summary>
    public long LostBefore { get; private set; }
    /// <summary>The running time: after <see cref="Next"/> returned true, the timestamp of that event.</summary>
    public ulong Timestamp => _ts;
    /// <summary>Offset in the page of the event header <see cref="Next"/> stopped at (for messages).</summary>
    public int EventOffset { get; private set; }

    /// <summary>
    /// Starts on the page in <paramref name="page"/>[<paramref name="start"/>..+<paramref name="length"/>]. Returns
    /// null when its header is sound, otherwise what is wrong with it (the caller names the offset).
    /// </summary>
    public string? Begin(byte[] page, int start, int length)
    {
        _page = page;
        LostBefore = 0;
        if (length < _dataOffset) return $"page of {length} bytes is shorter than its {_dataOffset}-byte header";
        PageTimestamp = Read64(start + _tsOffset);
        ulong commit = _commitSize == 8 ? Read64(start + _commitOffset) : Read32(start + _commitOffset);
        uint low = (uint)commit;
        if (commit >> 32 != 0) return $"commit word 0x{commit:x} has bits above 31 set";
        int size = (int)(low & ~(MissedEvents | MissedStored));
        int capacity = length - _dataOffset;
        if (size > capacity) return $"commit size {size} is larger than the page's {capacity} bytes of data";
        CommitBytes = size;
        _pos = start + _dataOffset;
        _end = _pos + size;
        _ts = PageTimestamp;
        if ((low & MissedEvents) != 0)
        {
            LostBefore = -1;
            if ((low & MissedStored) != 0)
            {
                if (size + _commitSize > capacity) return $"lost-events count stored past the page's end (commit size {size})";
                ulong n = _commitSize == 8 ? Read64(_end) : Read32(_end);
                LostBefore = n > long.MaxValue ? -1 : (long)n;
            }
        }
        return null;
    }

    /// <summary>
    /// Advances to the next data event: its payload is <paramref name="dataStart"/>..+<paramref name="dataLength"/> in
    /// the page buffer and its time <see cref="Timestamp"/>. False at the end of the page's events; throws
    /// <see cref="InvalidDataException"/> (the caller names the offset) on an event that runs past the commit size.
    /// </summary>
    public bool Next(out int dataStart, out int dataLength)
    {
        while (_end - _pos >= 4)
        {
            EventOffset = _pos;
            uint h = Read32(_pos);
            int typeLen;
            uint delta;
            if (_bigEndian) { typeLen = (int)(h >> 27); delta = h & ((1u << TsShift) - 1); }
            else { typeLen = (int)(h & 0x1f); delta = h >> 5; }
            switch (typeLen)
            {
                case TypePadding:
                {
                    if (delta == 0) { _pos = _end; dataStart = dataLength = 0; return false; }
                    uint len = Word(1, "a padding length");
                    Skip(4 + (long)len, "padding");
                    continue;
                }
                case TypeTimeExtend:
                    _ts += delta | ((ulong)Word(1, "a time extend") << TsShift);
                    Skip(8, "time extend");
                    continue;
                case TypeTimeStamp:
                {
                    ulong abs = delta | ((ulong)Word(1, "an absolute timestamp") << TsShift);
                    if ((_ts & TsMsb) != 0)
                    {
                        abs |= _ts & TsMsb;
                        if (abs < _ts) abs += 1UL << 59;
                    }
                    _ts = abs;
                    Skip(8, "absolute timestamp");
                    continue;
                }
                case 0:
                {
                    uint len = Word(1, "a data length");
                    if (len < 4) throw new InvalidDataException($"data event length word {len}: expected at least 4");
                    dataStart = _pos + 8;
                    dataLength = (int)(len - 4);
                    Skip(4 + (long)len, "data event");
                    _ts += delta;
                    return true;
                }
                default:
                    dataStart = _pos + 4;
                    dataLength = typeLen * 4;
                    Skip(4 + (long)dataLength, "data event");
                    _ts += delta;
                    return true;
            }
        }
        _pos = _end;
        dataStart = dataLength = 0;
        return false;
    }

    uint Word(int index, string what)
    {
        int at = _pos + 4 * index;
        if (at + 4 > _end) throw new InvalidDataException($"{what} runs past the page's commit size");
        return Read32(at);
    }

    void Skip(long n, string what)
    {
        if (_pos + n > _end) throw new InvalidDataException($"{what} of {n} bytes runs past the page's commit size ({_end - _pos} bytes left)");
        _pos += (int)n;
    }

    uint Read32(int at) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(_page.AsSpan(at, 4)) : BinaryPrimitives.ReadUInt32LittleEndian(_page.AsSpan(at, 4));
    ulong Read64(int at) => _bigEndian ? BinaryPrimitives.ReadUInt64BigEndian(_page.AsSpan(at, 8)) : BinaryPrimitives.ReadUInt64LittleEndian(_page.AsSpan(at, 8));
}
