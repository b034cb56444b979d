namespace DmaLab.Trace.TraceCmd;

/// <summary>Where one CPU's ring-buffer pages lie in a .dat file.</summary>
internal readonly record struct TraceCmdCpuData(int Cpu, long Offset, long Size);
