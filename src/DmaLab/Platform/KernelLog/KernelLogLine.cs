using System.Text.RegularExpressions;

namespace DmaLab.Platform.KernelLog;

/// <summary>
/// Strips the prefix one line of a kernel log carries, whichever tool wrote it: `dmesg` (`[    2.355390] `, with
/// `-T` `[Wed Dec  2 16:29:22 2026] `, with `-r` or from /dev/kmsg a `&lt;6&gt;` level first), `journalctl -k` (short:
/// `Dec 02 16:29:22 host kernel: `, short-iso, short-monotonic `[    2.355390] host kernel: `) and `dmesg -t` (no
/// prefix at all). What remains is the printk message, as the kernel formatted it (pr_fmt prefix included).
/// </summary>
public static partial class KernelLogLine
{
    [GeneratedRegex(@"^(?:<\d{1,2}>)?\[\s*\d+\.\d+\]\s?(?:\S+ kernel: )?")]
    private static partial Regex Monotonic();
    [GeneratedRegex(@"^(?:<\d{1,2}>)?\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\] ?")]
    private static partial Regex WallClock();
    [GeneratedRegex(@"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.,+-]+Z?) \S+ kernel: ")]
    private static partial Regex Journal();
    [GeneratedRegex(@"^\d,\d+,\d+,[-c];")]
    private static partial Regex Kmsg();

    /// <summary>The message of <paramref name="line"/>; <paramref name="prefixed"/> says whether a log prefix was
    /// recognised (a line without one may still be a `dmesg -t` message, or anything else).</summary>
    public static string Message(string line, out bool prefixed)
    {
        foreach (var re in (ReadOnlySpan<Regex>)[Monotonic(), WallClock(), Journal(), Kmsg()])
        {
            var m = re.Match(line);
            if (m.Success && m.Length > 0)
            {
                prefixed = true;
                return line[m.Length..];
            }
        }
        prefixed = false;
        return line;
    }
}
