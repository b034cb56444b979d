using DmaLab.Analysis;

namespace DmaLab.Cli.Report;

/// <summary>
/// The findings-by-kind table of a report's summary: one row per kind with its severity, count and where it came
/// from, errors first; expected events (isolation-probe faults) get their own rows, labelled expected and not counted.
/// </summary>
public static class FindingSummary
{
    /// <summary>A kind's total and the places it was seen (workloads or devices), in first-seen order.</summary>
    public sealed record KindCount(string Kind, long Count, IReadOnlyList<string> Where, bool Expected = false);

    public static string Render(IEnumerable<KindCount> kinds)
    {
        var t = new HtmlTable("Kind", "Severity", "Count", "Where").Numeric(2);
        var rows = kinds.OrderBy(k => k.Expected).ThenBy(k => k.Expected ? 0 : (int)FindingSeverities.Of(k.Kind))
            .ThenByDescending(k => k.Count).ThenBy(k => k.Kind, StringComparer.Ordinal).ToList();
        if (rows.Count == 0) return Html.P("No findings.");
        foreach (var k in rows)
        {
            string sev = k.Expected ? "expected" : FindingSeverities.Name(FindingSeverities.Of(k.Kind));
            string where = string.Join(", ", k.Where.Take(4)) + (k.Where.Count > 4 ? $" and {k.Where.Count - 4} more" : "");
            t.AddRow(sev, k.Kind, sev, Html.N(k.Count), where);
        }
        return t.Render();
    }

    /// <summary>"—" for a finding without an address (0), else 0x… .</summary>
    public static string Address(ulong a) => a == 0 ? "—" : $"0x{a:x}";
}
