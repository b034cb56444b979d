namespace DmaLab.Analysis;

/// <summary>One named number in a report (stable name, value, unit such as "bytes", "ns", "count", "%").</summary>
public sealed record Metric(string Name, double Value, string Unit);
