using System.Globalization;

namespace DmaLab.Cli;

/// <summary>Human-readable numbers.</summary>
public static class Units
{
    public static string Bytes(ulong b) => b switch
    {
        0 => "0",
        _ when b % (1UL << 40) == 0 => $"{b >> 40} TiB",
        _ when b % (1UL << 30) == 0 => $"{b >> 30} GiB",
        _ when b % (1UL << 20) == 0 => $"{b >> 20} MiB",
        _ when b % (1UL << 10) == 0 => $"{b >> 10} KiB",
        _ => $"{b} B",
    };

    public static string Number(double v, string unit) => unit switch
    {
        "bytes" or "B" => Bytes((ulong)Math.Max(0, v)),
        "%" => v.ToString("0.0", CultureInfo.InvariantCulture) + " %",
        _ when Math.Abs(v - Math.Round(v)) < 1e-9 && Math.Abs(v) < 1e15 => ((long)Math.Round(v)).ToString("N0", CultureInfo.InvariantCulture) + (unit is "count" or "" ? "" : " " + unit),
        _ => v.ToString("0.###", CultureInfo.InvariantCulture) + (unit is "count" or "" ? "" : " " + unit),
    };
}
