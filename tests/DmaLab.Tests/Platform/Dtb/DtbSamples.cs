namespace DmaLab.Tests.Platform.Dtb;

internal static class DtbSamples
{
    public static string Dir => Path.Combine(AppContext.BaseDirectory, "data", "dtb");
    public static byte[] Load(string file) => File.ReadAllBytes(Path.Combine(Dir, file));
    public static IEnumerable<string> Files => Directory.GetFiles(Dir, "*.dtb").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;
}
