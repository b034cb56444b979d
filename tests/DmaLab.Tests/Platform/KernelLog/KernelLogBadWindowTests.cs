using DmaLab.Platform.KernelLog;

namespace DmaLab.Tests.Platform.KernelLog;

/// <summary>The kernel-log reader names the line and column of a PCI window the kernel could not have printed.</summary>
public class KernelLogBadWindowTests
{
    [Theory]
    [InlineData("[    0.1] pci_bus 0000:00: root bus resource [mem 0x11111111111111111111-0x2 window]", 53)]
    [InlineData("[    0.1] pci_bus 0000:00: root bus resource [mem 0xfebfffff-0xfe000000 window]", 53)]
    [InlineData("pci_bus 0000:00: root bus resource [mem 0x8000000-0x9000000 window] (bus address [0x9000000-0xa000000])", 85)]
    public void A_window_the_kernel_could_not_print_is_a_located_error(string line, int column)
    {
        var e = Assert.Throws<KernelLogFormatException>(() => KernelLogReader.Read(new StringReader("ok\n" + line + "\n"), "dmesg.txt"));
        Assert.StartsWith($"dmesg.txt: line 2: column {column}: expected ", e.Message);
    }
}
