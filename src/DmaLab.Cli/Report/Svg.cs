using System.Globalization;
using System.Net;
using System.Text;

namespace DmaLab.Cli.Report;

/// <summary>Tiny inline SVG plots for the HTML reports (no scripts, no external resources).</summary>
public static class Svg
{
    const int W = 720, H = 220, L = 60, R = 10, T = 24, B = 30;

    public static string LinePlot(string title, IReadOnlyList<(double X, double Y)> points)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\"><title>{E(title)}</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L}\" y=\"16\" font-size=\"13\">{E(title)}</text>");
        if (points.Count > 0)
        {
            double x0 = points.Min(p => p.X), x1 = points.Max(p => p.X), y1 = Math.Max(points.Max(p => p.Y), 1e-12);
            if (x1 <= x0) x1 = x0 + 1;
            double Sx(double x) => L + (x - x0) / (x1 - x0) * (W - L - R);
            double Sy(double y) => H - B - y / y1 * (H - T - B);
            sb.Append("<polyline fill=\"none\" stroke=\"#2a6fdb\" stroke-width=\"1.5\" points=\"");
            foreach (var (x, y) in points) sb.Append(CultureInfo.InvariantCulture, $"{Sx(x):0.#},{Sy(y):0.#} ");
            sb.Append("\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{T + 10}\" font-size=\"11\">{E(Short(y1))}</text><text x=\"4\" y=\"{H - B}\" font-size=\"11\">0</text>");
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L}\" y=\"{H - 8}\" font-size=\"11\">{E(Short(x0))}</text><text x=\"{W - R - 60}\" y=\"{H - 8}\" font-size=\"11\">{E(Short(x1))}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<line x1=\"{L}\" y1=\"{H - B}\" x2=\"{W - R}\" y2=\"{H - B}\" stroke=\"#888\"/><line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{H - B}\" stroke=\"#888\"/></svg>\n");
        return sb.ToString();
    }

    /// <summary>Vertical bars with labels (histograms).</summary>
    public static string Bars(string title, IReadOnlyList<(string Label, double Value)> bars)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" role=\"img\"><title>{E(title)}</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L}\" y=\"16\" font-size=\"13\">{E(title)}</text>");
        if (bars.Count > 0)
        {
            double max = Math.Max(bars.Max(b => b.Value), 1e-12), bw = (double)(W - L - R) / bars.Count;
            for (int i = 0; i < bars.Count; i++)
            {
                double h = bars[i].Value / max * (H - T - B);
                sb.Append(CultureInfo.InvariantCulture, $"<rect x=\"{L + i * bw + 1:0.#}\" y=\"{H - B - h:0.#}\" width=\"{Math.Max(bw - 2, 1):0.#}\" height=\"{h:0.#}\" fill=\"#2a6fdb\"><title>{E(bars[i].Label)}: {bars[i].Value}</title></rect>");
                if (bars.Count <= 24) sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{L + i * bw + 2:0.#}\" y=\"{H - 12}\" font-size=\"9\">{E(bars[i].Label)}</text>");
            }
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"4\" y=\"{T + 10}\" font-size=\"11\">{E(Short(max))}</text>");
        }
        sb.Append("</svg>\n");
        return sb.ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
    static string Short(double v) => Math.Abs(v) >= 1e9 ? (v / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + "G"
        : Math.Abs(v) >= 1e6 ? (v / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M"
        : Math.Abs(v) >= 1e3 ? (v / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k"
        : v.ToString("0.##", CultureInfo.InvariantCulture);
}
