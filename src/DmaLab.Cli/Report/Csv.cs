using System.Globalization;
using System.Text;

namespace DmaLab.Cli.Report;

/// <summary>RFC 4180 CSV: a header row, comma-separated cells, fields with commas, quotes or line breaks quoted;
/// numbers in invariant culture, addresses as 0x hex; \n line ends so files are the same on every host.</summary>
public sealed class Csv
{
    readonly StringBuilder _sb = new();
    readonly int _columns;

    public Csv(params string[] header)
    {
        _columns = header.Length;
        Row(header);
    }

    public Csv Row(params object?[] cells)
    {
        if (cells.Length != _columns) throw new ArgumentException($"{cells.Length} cells for {_columns} columns", nameof(cells));
        for (int i = 0; i < cells.Length; i++)
        {
            if (i > 0) _sb.Append(',');
            _sb.Append(Field(cells[i]));
        }
        _sb.Append('\n');
        return this;
    }

    static string Field(object? v)
    {
        string s = v switch
        {
            null => "",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => v.ToString() ?? "",
        };
        return s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
    }

    public override string ToString() => _sb.ToString();

    public void Save(string dir, string file) => SafeOutput.WriteAllText(Path.Combine(dir, file), ToString());

    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
