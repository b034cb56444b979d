using System.Text;

namespace DmaLab.Cli;

/// <summary>How a <see cref="TextTable"/> column lays out its cells.</summary>
public enum ColumnKind
{
    /// <summary>Names, addresses, identifiers: left-aligned, never wrapped or cut.</summary>
    Text,
    /// <summary>Figures: right-aligned, never wrapped or cut.</summary>
    Number,
    /// <summary>Reasons, notes, messages: left-aligned, wrapped at spaces to fit the width.</summary>
    Prose,
}

/// <summary>
/// A terminal table fitted to <see cref="Terminal.Width"/>: only prose columns shrink, and only at spaces, so a token
/// (a PCI name, an address, a figure) is never split; when even the longest words do not fit, the table runs wider
/// than the terminal rather than cutting one. Cells may hold several lines ("\n"); a no-break space (U+00A0) joins
/// words that must stay on one line ("iotlb-misses: 9,942") and prints as a space.
/// </summary>
public sealed class TextTable
{
    readonly List<(string Header, ColumnKind Kind, bool Optional)> _columns = new();
    readonly List<string[]> _rows = new();
    readonly string? _title;
    /// <summary>Shown centred above the table; control characters from inputs are shown as \xNN, as in cells.</summary>
    public string? Title { get => _title; init => _title = value is null ? null : TerminalText.PlainLines(value); }

    /// <summary>Adds a column; an <paramref name="optional"/> one is left out (the rightmost first) when the table
    /// cannot fit the width otherwise, and the table says so under itself.</summary>
    public TextTable Column(string header, ColumnKind kind = ColumnKind.Text, bool optional = false)
    {
        _columns.Add((TerminalText.PlainLines(header), kind, optional));
        return this;
    }

    public TextTable Row(params string[] cells)
    {
        if (cells.Length != _columns.Count) throw new ArgumentException($"{cells.Length} cells for {_columns.Count} columns", nameof(cells));
        // Cells often quote inputs (device names, DTB models): see TerminalText.
        _rows.Add(Array.ConvertAll(cells, TerminalText.PlainLines));
        return this;
    }

    public int RowCount => _rows.Count;

    public void Write(TextWriter? output = null) => (output ?? Console.Out).Write(Render(Terminal.Width));

    public string Render(int width)
    {
        var keep = Enumerable.Range(0, _columns.Count).ToList();
        var dropped = new List<string>();
        for (int c = _columns.Count - 1; c >= 0 && Least(keep) > width; c--)
            if (_columns[c].Optional) { keep.Remove(c); dropped.Add(_columns[c].Header.Replace('\n', ' ')); }
        if (dropped.Count == 0) return RenderColumns(width);
        var shown = new TextTable { Title = Title };
        foreach (int c in keep) shown._columns.Add(_columns[c]);
        foreach (var row in _rows) shown._rows.Add(keep.Select(c => row[c]).ToArray());
        return shown.RenderColumns(width)
            + string.Join('\n', Wrap($"(left out to fit {width} columns: {string.Join(", ", dropped)}; --width or --json show them)", width)) + "\n";
    }

    /// <summary>The narrowest the table can be with these columns.</summary>
    int Least(List<int> columns)
    {
        int sum = 3 * columns.Count + 1;
        foreach (int c in columns)
        {
            int least = LongestWord(_columns[c].Header);
            foreach (var row in _rows)
                foreach (var line in Lines(row[c]))
                    least = Math.Max(least, _columns[c].Kind == ColumnKind.Prose ? LongestWord(line) : line.Length);
            sum += least;
        }
        return sum;
    }

    string RenderColumns(int width)
    {
        int n = _columns.Count;
        var natural = new int[n];
        var least = new int[n];
        for (int c = 0; c < n; c++)
        {
            foreach (var line in Lines(_columns[c].Header)) natural[c] = Math.Max(natural[c], line.Length);
            // Headers wrap at spaces in every column; cells only in prose columns.
            least[c] = LongestWord(_columns[c].Header);
            foreach (var row in _rows)
                foreach (var line in Lines(row[c]))
                {
                    natural[c] = Math.Max(natural[c], line.Length);
                    least[c] = Math.Max(least[c], _columns[c].Kind == ColumnKind.Prose ? LongestWord(line) : line.Length);
                }
        }
        var w = Fit(natural, least, width - (3 * n + 1));
        var sb = new StringBuilder();
        int inner = w.Sum() + 3 * n - 1;
        if (Title is not null)
            foreach (var line in Wrap(Title, Math.Max(inner + 2, Math.Min(width, Title.Length)))) sb.Append(Center(line, inner + 2)).Append('\n');
        Rule(sb, w, '┌', '┬', '┐');
        Cells(sb, w, _columns.Select(x => x.Header).ToArray(), header: true);
        Rule(sb, w, '├', '┼', '┤');
        foreach (var row in _rows) Cells(sb, w, row, header: false);
        Rule(sb, w, '└', '┴', '┘');
        return sb.ToString();
    }

    /// <summary>Natural widths when they fit; else prose columns give up width first (widest first, down to their
    /// longest word), then the other columns' headers wrap (down to the widest cell or header word).</summary>
    int[] Fit(int[] natural, int[] least, int room)
    {
        var w = (int[])natural.Clone();
        int excess = w.Sum() - room;
        foreach (bool prosePass in new[] { true, false })
            while (excess > 0)
            {
                int widest = -1;
                for (int c = 0; c < w.Length; c++)
                    if ((_columns[c].Kind == ColumnKind.Prose) == prosePass && w[c] > least[c] && (widest < 0 || w[c] > w[widest])) widest = c;
                if (widest < 0) break;
                w[widest]--;
                excess--;
            }
        return w;
    }

    void Cells(StringBuilder sb, int[] w, string[] cells, bool header)
    {
        var wrapped = new List<string>[cells.Length];
        int height = 1;
        for (int c = 0; c < cells.Length; c++)
        {
            wrapped[c] = new List<string>();
            foreach (var line in Lines(cells[c]))
                if (_columns[c].Kind == ColumnKind.Prose || header) wrapped[c].AddRange(Wrap(line, w[c]));
                else wrapped[c].Add(line);
            height = Math.Max(height, wrapped[c].Count);
        }
        for (int i = 0; i < height; i++)
        {
            sb.Append('│');
            for (int c = 0; c < cells.Length; c++)
            {
                string s = i < wrapped[c].Count ? wrapped[c][i] : "";
                bool right = _columns[c].Kind == ColumnKind.Number;
                sb.Append(' ').Append((right ? s.PadLeft(w[c]) : s.PadRight(w[c])).Replace('\u00a0', ' ')).Append(" │");
            }
            sb.Append('\n');
        }
    }

    static void Rule(StringBuilder sb, int[] w, char left, char mid, char right)
    {
        sb.Append(left);
        for (int c = 0; c < w.Length; c++)
        {
            sb.Append('─', w[c] + 2);
            sb.Append(c == w.Length - 1 ? right : mid);
        }
        sb.Append('\n');
    }

    static string Center(string s, int width) => s.Length >= width ? s : new string(' ', (width - s.Length) / 2) + s;

    static string[] Lines(string s) => s.Split('\n');

    static int LongestWord(string s)
    {
        int best = 0;
        foreach (var word in s.Split(' ')) best = Math.Max(best, word.Length);
        return best;
    }

    /// <summary>Greedy wrap at spaces; a word longer than the width keeps its own line whole.</summary>
    public static IEnumerable<string> Wrap(string line, int width)
    {
        if (line.Length <= width) { yield return line; yield break; }
        var cur = new StringBuilder();
        foreach (var word in line.Split(' '))
        {
            if (cur.Length > 0 && cur.Length + 1 + word.Length > width)
            {
                yield return cur.ToString();
                cur.Clear();
            }
            if (cur.Length > 0) cur.Append(' ');
            cur.Append(word);
        }
        if (cur.Length > 0) yield return cur.ToString();
    }
}
