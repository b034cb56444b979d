using System.Globalization;
using System.Text;

namespace DmaLab.Cli.Report;

/// <summary>One table cell: its text (escaped when rendered) and an optional CSS class ("n" right-aligns numbers,
/// "diff" highlights a value that differs from its row's first value).</summary>
public readonly record struct HtmlCell(string Text, string? Class = null)
{
    public static implicit operator HtmlCell(string text) => new(text);
}

/// <summary>
/// An HTML table that stays small on huge inputs: it holds at most <see cref="Limit"/> rows and, when more were
/// offered, says "showing N of M" under the table (with where the rest are), so nothing is cut silently.
/// </summary>
public sealed class HtmlTable
{
    readonly string[] _header;
    readonly List<(string? Class, HtmlCell[] Cells)> _rows = new();
    readonly HashSet<int> _numeric = new();

    public HtmlTable(params string[] header) => _header = header;

    /// <summary>Rows kept (the rest are counted: <see cref="Offered"/>).</summary>
    public int Limit { get; init; } = int.MaxValue;
    /// <summary>Rows offered to <see cref="Add(HtmlCell[])"/> (kept or not).</summary>
    public long Offered { get; private set; }
    /// <summary>Where the rows not shown can be found ("replay.json").</summary>
    public string? RestIn { get; init; }
    /// <summary>How the shown rows were chosen ("the first", "the top by maps").</summary>
    public string Order { get; init; } = "the first";

    /// <summary>Marks columns whose cells are numbers (right-aligned, tabular figures).</summary>
    public HtmlTable Numeric(params int[] columns)
    {
        foreach (int c in columns) _numeric.Add(c);
        return this;
    }

    public void Add(params HtmlCell[] cells) => AddRow(null, cells);

    public void AddRow(string? rowClass, params HtmlCell[] cells)
    {
        Offered++;
        if (_rows.Count < Limit) _rows.Add((rowClass, cells));
    }

    /// <summary>Counts a row that exists but was never built (the caller already knows it will not be shown).</summary>
    public void Skip(long rows) => Offered += rows;

    public int Shown => _rows.Count;

    public string Render()
    {
        var sb = new StringBuilder("<table><thead><tr>");
        foreach (var h in _header) sb.Append("<th>").Append(Html.E(h)).Append("</th>");
        sb.Append("</tr></thead><tbody>\n");
        foreach (var (cls, cells) in _rows)
        {
            sb.Append(cls is null ? "<tr>" : $"<tr class=\"{cls}\">");
            for (int i = 0; i < cells.Length; i++)
            {
                string? c = cells[i].Class;
                if (_numeric.Contains(i)) c = c is null ? "n" : "n " + c;
                sb.Append(c is null ? "<td>" : $"<td class=\"{c}\">").Append(Html.E(cells[i].Text)).Append("</td>");
            }
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody></table>\n");
        if (Offered > _rows.Count)
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"more\">showing {Order} {_rows.Count:N0} of {Offered:N0}")
              .Append(RestIn is null ? "" : "; all are in " + Html.E(RestIn)).Append("</p>\n");
        return sb.ToString();
    }
}
