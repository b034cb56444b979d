namespace DmaLab.Replay;

/// <summary>One sample of live mappings: trace time (ns), mappings and bytes live just after that time, and the
/// lowest and highest values they had since the previous sample (so thinning never hides a peak).</summary>
public readonly record struct LiveSample(ulong TimeNs, long Mappings, long Bytes)
{
    public long MinMappings { get; init; } = Mappings;
    public long MaxMappings { get; init; } = Mappings;
    public long MinBytes { get; init; } = Bytes;
    public long MaxBytes { get; init; } = Bytes;

    /// <summary>This sample with the extremes of <paramref name="earlier"/> (a sample it replaces) folded in.</summary>
    public LiveSample Absorb(in LiveSample earlier) => this with
    {
        MinMappings = Math.Min(MinMappings, earlier.MinMappings), MaxMappings = Math.Max(MaxMappings, earlier.MaxMappings),
        MinBytes = Math.Min(MinBytes, earlier.MinBytes), MaxBytes = Math.Max(MaxBytes, earlier.MaxBytes),
    };
}

/// <summary>
/// Live mappings over trace time in bounded memory: a sample is kept when at least <c>interval</c> ns passed since
/// the previous one; when the buffer is full every other sample is dropped and the interval doubles, so any trace
/// length ends with between Capacity/2 and Capacity evenly spread samples (plus the exact final state). Each sample
/// carries the minimum and maximum since the previous one; a dropped sample's extremes pass to the one that follows it.
/// </summary>
public sealed class ReplayLiveSeries
{
    readonly int _capacity;
    LiveSample[] _samples;
    int _count;
    ulong _interval;
    ulong _last;
    LiveSample _pending;
    bool _hasPending;
    long _minM = long.MaxValue, _maxM = long.MinValue, _minB = long.MaxValue, _maxB = long.MinValue;

    public ReplayLiveSeries(int capacity = 512, ulong initialIntervalNs = 1000)
    {
        _capacity = Math.Max(4, capacity);
        _samples = new LiveSample[4]; // grows to capacity: owners with few calls stay small
        _interval = Math.Max(1, initialIntervalNs);
    }

    public void Record(ulong timeNs, long mappings, long bytes)
    {
        _minM = Math.Min(_minM, mappings);
        _maxM = Math.Max(_maxM, mappings);
        _minB = Math.Min(_minB, bytes);
        _maxB = Math.Max(_maxB, bytes);
        _pending = new LiveSample(timeNs, mappings, bytes) { MinMappings = _minM, MaxMappings = _maxM, MinBytes = _minB, MaxBytes = _maxB };
        _hasPending = true;
        if (_count > 0 && timeNs < _last + _interval) return;
        Append(_pending);
        _hasPending = false;
        _minM = _minB = long.MaxValue;
        _maxM = _maxB = long.MinValue;
    }

    void Append(LiveSample s)
    {
        if (_count == _samples.Length && _samples.Length < _capacity)
            Array.Resize(ref _samples, Math.Min(_capacity, _samples.Length * 4));
        if (_count == _samples.Length)
        {
            int w = 0;
            for (int r = 0; r < _count; r += 2)
                _samples[w++] = r + 1 < _count ? _samples[r + 1].Absorb(_samples[r]) : _samples[r];
            _count = w;
            _interval *= 2;
        }
        _samples[_count++] = s;
        _last = s.TimeNs;
    }

    /// <summary>The samples, with the latest state appended when it was not sampled yet.</summary>
    public List<LiveSample> ToList()
    {
        var list = new List<LiveSample>(_count + 1);
        for (int i = 0; i < _count; i++) list.Add(_samples[i]);
        if (_hasPending && (list.Count == 0 || list[^1] != _pending)) list.Add(_pending);
        return list;
    }
}
