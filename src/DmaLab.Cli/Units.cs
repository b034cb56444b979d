using System.Globalization;

namespace DmaLab.Cli;

/// <summary>Human-readable numbers: IEC byte units (the exact value is in the JSON), one unit per table column.</summary>
public static class Units
{
    static readonly string[] Iec = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    /// <summary>A size on its own: exact in the largest unit that divides it when that takes at most five digits
    /// ("64 KiB", "2047 MiB"), else three significant figures in the largest unit below it ("7.24 GiB"), so a rounded
    /// figure never looks exact.</summary>
    public static string Bytes(ulong b)
    {
        if (b == 0) return "0 B";
        int u = UnitOf(b);
        for (int x = u; x >= 0; x--)
            if (b % (1UL << (10 * x)) == 0 && b >> (10 * x) < 100_000) return $"{b >> (10 * x)} {Iec[x]}";
        return $"{Scaled(b, u)} {Iec[u]}";
    }

    public static string Bytes(long b) => b < 0 ? "-" + Bytes((ulong)(-b)) : Bytes((ulong)b);

    /// <summary>The unit a column of sizes is written in: the one of its largest value.</summary>
    public static string ColumnUnit(IEnumerable<ulong> values) => Iec[UnitOf(values.DefaultIfEmpty(0UL).Max())];

    /// <summary>A size in a column's unit, without the unit (the header carries it).</summary>
    public static string BytesIn(ulong b, string unit)
    {
        int u = Array.IndexOf(Iec, unit);
        if (u <= 0) return b.ToString("N0", CultureInfo.InvariantCulture);
        if (b == 0) return "0";
        double v = b / (double)(1UL << (10 * u));
        return v.ToString(v >= 100 ? "N0" : v >= 10 ? "N1" : "N2", CultureInfo.InvariantCulture);
    }

    static int UnitOf(ulong b)
    {
        int u = 0;
        while (u < Iec.Length - 1 && b >= 1UL << (10 * (u + 1))) u++;
        return u;
    }

    static string Scaled(ulong b, int u)
    {
        double v = b / (double)(1UL << (10 * u));
        return v.ToString(v >= 100 ? "0" : v >= 10 ? "0.0" : "0.00", CultureInfo.InvariantCulture);
    }

    public static string Count(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(double v, string unit) => unit switch
    {
        "bytes" or "B" => Bytes((ulong)Math.Max(0, v)),
        "%" => v.ToString("0.0", CultureInfo.InvariantCulture) + " %",
        _ when Math.Abs(v - Math.Round(v)) < 1e-9 && Math.Abs(v) < 1e15 => ((long)Math.Round(v)).ToString("N0", CultureInfo.InvariantCulture) + (unit is "count" or "" ? "" : " " + unit),
        _ => v.ToString("0.###", CultureInfo.InvariantCulture) + (unit is "count" or "" ? "" : " " + unit),
    };
}
