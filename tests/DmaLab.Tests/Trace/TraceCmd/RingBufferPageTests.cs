using DmaLab.Trace.TraceCmd;

namespace DmaLab.Tests.Trace.TraceCmd;

/// <summary>
/// The ring-buffer page walk against pages built by the kernel's layout (kernel/trace/ring_buffer.c): deltas from the
/// page timestamp, time extends, absolute timestamps with their top bits restored, discarded events and the end
/// padding, long events with a length word, lost-event flags in the commit word, big-endian headers, and pages or
/// events that do not fit.
/// </summary>
public class RingBufferPageTests
{
    static RingBufferPage Walker(bool bigEndian = false) => new(bigEndian, 0, 8, 8, 16);

    static List<(ulong Ts, int Length, byte First)> Walk(byte[] page, bool bigEndian = false, RingBufferPage? w = null)
    {
        w ??= Walker(bigEndian);
        Assert.Null(w.Begin(page, 0, page.Length));
        var list = new List<(ulong, int, byte)>();
        while (w.Next(out int start, out int length)) list.Add((w.Timestamp, length, page[start]));
        return list;
    }

    static byte[] Payload(int n, byte first) { var b = new byte[n]; b[0] = first; return b; }

    [Fact]
    public void Deltas_add_up_from_the_page_timestamp()
    {
        var page = new DatBuilder.Page(1_000_000).Event(0, Payload(8, 1)).Event(5, Payload(12, 2)).Event(7, Payload(4, 3)).Bytes();
        Assert.Equal([(1_000_000UL, 8, (byte)1), (1_000_005UL, 12, (byte)2), (1_000_012UL, 4, (byte)3)], Walk(page));
    }

    [Fact]
    public void A_time_extend_carries_a_delta_wider_than_27_bits()
    {
        ulong big = (1UL << 40) + 12345;
        var page = new DatBuilder.Page(10).Event(1, Payload(8, 1)).Extend(big).Event(3, Payload(8, 2)).Bytes();
        Assert.Equal([(11UL, 8, (byte)1), (11 + big + 3, 8, (byte)2)], Walk(page));
    }

    [Fact]
    public void An_absolute_timestamp_replaces_the_time_and_keeps_its_top_bits()
    {
        var page = new DatBuilder.Page(500).Event(1, Payload(8, 1)).Absolute(9_000_000).Event(2, Payload(8, 2)).Bytes();
        Assert.Equal([(501UL, 8, (byte)1), (9_000_002UL, 8, (byte)2)], Walk(page));

        // 59 bits are stored; the top 5 come from the running time (rb_fix_abs_ts()), one more 2^59 when they wrapped.
        ulong baseTs = (0x08UL << 56) | 1000;
        var wrap = new DatBuilder.Page(baseTs).Absolute(2000).Event(0, Payload(8, 1)).Absolute(500).Event(0, Payload(8, 2)).Bytes();
        var got = Walk(wrap);
        Assert.Equal((0x08UL << 56) | 2000, got[0].Ts);
        Assert.Equal(((0x08UL << 56) | 500) + (1UL << 59), got[1].Ts);
    }

    [Fact]
    public void Discarded_events_are_skipped_without_their_delta_and_the_end_padding_ends_the_page()
    {
        var page = new DatBuilder.Page(100).Event(1, Payload(8, 1)).Discarded(50, 24).Event(2, Payload(8, 2))
            .EndPadding().Event(9, Payload(8, 3)).Bytes();
        // rb_update_read_stamp(): a padding event's delta is not added; nothing after the null padding is read.
        Assert.Equal([(101UL, 8, (byte)1), (103UL, 8, (byte)2)], Walk(page));
    }

    [Fact]
    public void Long_events_carry_their_length_in_the_first_word()
    {
        var page = new DatBuilder.Page(0).Event(4, Payload(200, 7)).Event(1, Payload(16, 8), forceLong: true).Bytes();
        Assert.Equal([(4UL, 200, (byte)7), (5UL, 16, (byte)8)], Walk(page));
    }

    [Fact]
    public void The_commit_word_says_events_were_lost_before_the_page()
    {
        var w = Walker();
        var counted = new DatBuilder.Page(0) { Lost = 120 }.Event(1, Payload(8, 1)).Bytes();
        Assert.Null(w.Begin(counted, 0, counted.Length));
        Assert.Equal(120, w.LostBefore);
        Assert.Equal(12, w.CommitBytes);
        var uncounted = new DatBuilder.Page(0) { Lost = -1 }.Event(1, Payload(8, 1)).Bytes();
        Assert.Null(w.Begin(uncounted, 0, uncounted.Length));
        Assert.Equal(-1, w.LostBefore);
        var none = new DatBuilder.Page(0).Event(1, Payload(8, 1)).Bytes();
        Assert.Null(w.Begin(none, 0, none.Length));
        Assert.Equal(0, w.LostBefore);
    }

    [Fact]
    public void Big_endian_headers_keep_type_len_in_the_top_bits()
    {
        var page = new DatBuilder.Page(1000, bigEndian: true).Event(3, Payload(8, 1)).Extend(1UL << 30).Event(0, Payload(8, 2)).Bytes();
        Assert.Equal([(1003UL, 8, (byte)1), (1003 + (1UL << 30), 8, (byte)2)], Walk(page, bigEndian: true));
    }

    [Fact]
    public void A_commit_larger_than_the_page_or_an_event_past_the_commit_is_an_error()
    {
        var w = Walker();
        var huge = new DatBuilder.Page(0) { CommitOverride = 5000 }.Event(1, Payload(8, 1)).Bytes();
        Assert.Contains("commit size 5000 is larger than the page's 4080 bytes", w.Begin(huge, 0, huge.Length));
        var cut = new DatBuilder.Page(0) { CommitOverride = 10 }.Event(1, Payload(8, 1)).Bytes();
        Assert.Null(w.Begin(cut, 0, cut.Length));
        var ex = Assert.Throws<InvalidDataException>(() => w.Next(out _, out _));
        Assert.Contains("runs past the page's commit size", ex.Message);
        Assert.Contains("shorter than", w.Begin(new byte[8], 0, 8));
    }

    [Fact]
    public void The_flags_column_is_the_one_tracefs_prints()
    {
        // irqs off, hardirq, preempt depth 1: "d.h1."; need-resched + softirq + migrate-disable 2: ".Ns.2" etc.
        Assert.Equal("d.h1.", TraceCmdEventDecoder.FlagsText(0x01 | 0x08, 0x01));
        Assert.Equal(".Ns.2", TraceCmdEventDecoder.FlagsText(0x04 | 0x20 | 0x10, 0x20));
        Assert.Equal("DnH..", TraceCmdEventDecoder.FlagsText(0x01 | 0x80 | 0x04 | 0x08 | 0x10, 0));
        Assert.Equal("b.z..", TraceCmdEventDecoder.FlagsText(0x80 | 0x40, 0));
        Assert.Equal(".....", TraceCmdEventDecoder.FlagsText(0, 0));
    }
}
