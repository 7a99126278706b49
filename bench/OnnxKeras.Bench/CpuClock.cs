using System.Diagnostics;
using System.Runtime.InteropServices;

namespace OnnxKeras.Bench;

/// <summary>
/// CPU time of this process (all threads). On Linux <c>clock_gettime(CLOCK_PROCESS_CPUTIME_ID)</c>, exact to the
/// nanosecond; <see cref="Process.TotalProcessorTime"/> reads /proc in clock ticks of 10 ms, too coarse for samples of
/// tens of milliseconds, and is only the fallback elsewhere.
/// </summary>
internal static class CpuClock
{
    private const int ClockProcessCpuTimeId = 2;

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    public static double ProcessMilliseconds()
    {
        if (OperatingSystem.IsLinux() && ClockGetTime(ClockProcessCpuTimeId, out var t) == 0)
            return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalMilliseconds;
    }
}
