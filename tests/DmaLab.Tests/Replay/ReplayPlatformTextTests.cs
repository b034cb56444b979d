using DmaLab.Replay;
using DmaLab.Trace;

namespace DmaLab.Tests.Replay;

/// <summary>The kernel-log facts reader names the line and column of a window it cannot take.</summary>
public class ReplayPlatformTextBadInputTests
{
    [Theory]
    [InlineData("[    0.1] pci_bus 0000:00: root bus resource [mem 0x11111111111111111111-0x2 window]")]
    [InlineData("[    0.1] pci_bus 0000:00: root bus resource [mem 0xfebfffff-0xfe000000 window]")]
    public void A_window_the_kernel_could_not_print_is_a_located_error(string line)
    {
        var e = Assert.Throws<TraceFormatException>(() => ReplayPlatformText.PciWindows(new StringReader("ok\n" + line + "\n"), "dmesg.txt"));
        Assert.StartsWith("dmesg.txt: line 2: column 53:", e.Message);
    }
}
