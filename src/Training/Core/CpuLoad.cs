using System.Diagnostics;
using System.Globalization;

namespace OnnxKeras;

/// <summary>
/// Cumulative CPU time in clock ticks (USER_HZ) over the CPUs the process may run on, from <c>/proc/stat</c>, and this
/// process's own CPU time (all its threads, libtorch's OpenMP workers included) from <c>/proc/self/stat</c>.
/// </summary>
/// <param name="Total">All time of the counted CPUs: user, nice, system, idle, iowait, irq, softirq and steal.</param>
/// <param name="Busy">The part not idle (idle and iowait left out); steal, time the hypervisor gave to others, is busy.</param>
/// <param name="Own">This process's user and system time.</param>
/// <param name="Cpus">The CPUs counted.</param>
internal readonly record struct CpuSample(long Total, long Busy, long Own, int Cpus);

/// <summary>
/// The load-aware cap of the automatic thread count (docs/training.md, "Devices and threads"): how many CPUs other
/// processes leave free, measured over an interval, with hysteresis so the count does not flap. Linux only; the pure
/// functions take the numbers read so tests can feed hand-made samples.
/// </summary>
internal static class CpuLoad
{
    /// <summary>Free CPUs at or above which the cap rises to a count: n - <see cref="RiseMargin"/> for n threads.</summary>
    internal const double RiseMargin = 0.25;

    /// <summary>Free CPUs below which the cap falls from n: n - <see cref="FallMargin"/> (others use half a CPU or more).</summary>
    internal const double FallMargin = 0.5;

    /// <summary>
    /// CPUs used by other processes between two samples: the counted CPUs' busy time (steal included) minus this process's
    /// own, over the interval's total time, times the CPUs counted; null when the samples cannot be compared.
    /// </summary>
    internal static double? OthersBusy(CpuSample before, CpuSample after)
    {
        long total = after.Total - before.Total, busy = after.Busy - before.Busy, own = after.Own - before.Own;
        if (total <= 0 || busy < 0 || own < 0 || after.Cpus <= 0 || after.Cpus != before.Cpus) return null;
        return Math.Clamp((double)(busy - own) / total, 0, 1) * after.Cpus;
    }

    /// <summary>
    /// The next cap from <paramref name="freeCpus"/> (CPUs counted minus <see cref="OthersBusy"/>) and the current cap
    /// <paramref name="previous"/> (0: none yet, then the free CPUs rounded). It rises to n when at least n -
    /// <see cref="RiseMargin"/> CPUs are free and falls below <paramref name="previous"/> only when fewer than
    /// <paramref name="previous"/> - <see cref="FallMargin"/> are (then to the free CPUs rounded); between, it stays.
    /// Always 1..<paramref name="maxCpus"/>.
    /// </summary>
    internal static int NextCap(double freeCpus, int previous, int maxCpus)
    {
        int max = Math.Max(1, maxCpus);
        if (double.IsNaN(freeCpus)) return Math.Clamp(previous, 1, max);
        double free = Math.Clamp(freeCpus, 0, max);
        int rounded = (int)Math.Floor(free + 0.5), raised = (int)Math.Floor(free + RiseMargin);
        int next = previous <= 0 ? rounded
            : raised > previous ? raised
            : free < previous - FallMargin ? rounded
            : previous;
        return Math.Clamp(next, 1, max);
    }

    /// <summary>
    /// A sample from the text of <c>/proc/stat</c>, <c>/proc/self/stat</c> and the process's allowed CPUs (the
    /// <c>Cpus_allowed_list</c> of <c>/proc/self/status</c>; null: all, the aggregate <c>cpu</c> line); null when the
    /// text is not in the expected form or names none of the allowed CPUs.
    /// </summary>
    internal static CpuSample? Parse(string procStat, string selfStat, IReadOnlySet<int>? allowed)
    {
        if (ParseOwn(selfStat) is not { } own) return null;
        long total = 0, busy = 0;
        int cpus = 0, perCpu = 0;
        bool aggregate = false;
        foreach (var line in procStat.Split('\n'))
        {
            if (!line.StartsWith("cpu", StringComparison.Ordinal)) continue;
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            bool isAll = f[0] == "cpu";
            int id = -1;
            if (!isAll && !int.TryParse(f[0].AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out id)) return null;
            if (!isAll) perCpu++;
            if (isAll ? allowed is not null : allowed is null || !allowed.Contains(id)) continue;
            if (ParseTimes(f) is not { } t) return null;
            total += t.Total;
            busy += t.Busy;
            if (isAll) aggregate = true; else cpus++;
        }
        if (aggregate) cpus = perCpu;
        return cpus > 0 ? new CpuSample(total, busy, own, cpus) : null;
    }

    // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice); older kernels
    // print fewer fields, at least the first four.
    private static (long Total, long Busy)? ParseTimes(string[] f)
    {
        if (f.Length < 5) return null;
        long total = 0, idle = 0;
        for (int i = 1; i < Math.Min(f.Length, 9); i++)
        {
            if (!long.TryParse(f[i], NumberStyles.None, CultureInfo.InvariantCulture, out long v)) return null;
            total += v;
            if (i is 4 or 5) idle += v;
        }
        return (total, total - idle);
    }

    // /proc/self/stat: "pid (comm) state ..." where comm may hold spaces and parentheses; utime and stime are fields 14
    // and 15, the 12th and 13th after the last ')'.
    private static long? ParseOwn(string selfStat)
    {
        int close = selfStat.LastIndexOf(')');
        if (close < 0) return null;
        var f = selfStat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length < 13
            || !long.TryParse(f[11], NumberStyles.None, CultureInfo.InvariantCulture, out long utime)
            || !long.TryParse(f[12], NumberStyles.None, CultureInfo.InvariantCulture, out long stime)) return null;
        return utime + stime;
    }

    /// <summary>The CPUs of a kernel CPU list such as <c>0-3,8,10-11</c>; null when it is not one.</summary>
    internal static HashSet<int>? ParseCpuList(string list)
    {
        var cpus = new HashSet<int>();
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = part.Split('-');
            if (ends.Length > 2
                || !int.TryParse(ends[0], NumberStyles.None, CultureInfo.InvariantCulture, out int first)
                || !int.TryParse(ends[^1], NumberStyles.None, CultureInfo.InvariantCulture, out int last)
                || last < first || last - first > 65_536) return null;
            for (int c = first; c <= last; c++) cpus.Add(c);
        }
        return cpus.Count > 0 ? cpus : null;
    }

    /// <summary>The <c>Cpus_allowed_list</c> of a <c>/proc/[pid]/status</c> text; null when absent or malformed.</summary>
    internal static HashSet<int>? ParseAllowed(string status)
    {
        const string key = "Cpus_allowed_list:";
        foreach (var line in status.Split('\n'))
            if (line.StartsWith(key, StringComparison.Ordinal)) return ParseCpuList(line[key.Length..]);
        return null;
    }
}

/// <summary>
/// Samples <c>/proc</c> at most every <see cref="Interval"/> (of <see cref="Stopwatch"/> time) and keeps the cap
/// <see cref="CpuLoad.NextCap"/> gives. Any failure to read or parse turns it off for good: <see cref="Update"/> then
/// returns 0, no cap, the behaviour without it. Models stepped on several threads at once take turns to sample.
/// </summary>
internal sealed class CpuLoadMonitor(Func<string, string> read, Func<long> clock)
{
    /// <summary>The shortest interval between samples: 50 ticks of each CPU at the usual 100 Hz, a 2 % resolution.</summary>
    internal static readonly TimeSpan Interval = TimeSpan.FromSeconds(0.5);

    /// <summary>A monitor of this process on Linux, reading <c>/proc</c>; null elsewhere (the cap does not apply).</summary>
    internal static CpuLoadMonitor? ForThisProcess() =>
        OperatingSystem.IsLinux() ? new CpuLoadMonitor(File.ReadAllText, Stopwatch.GetTimestamp) : null;

    private static readonly long IntervalTicks = (long)(Interval.TotalSeconds * Stopwatch.Frequency);
    private CpuSample? last;
    private long lastAt;
    private bool off;

    /// <summary>The current cap: 0 until two samples were compared, or when off.</summary>
    internal int Cap { get; private set; }

    /// <summary>Whether a read or parse failed, so the monitor no longer samples.</summary>
    internal bool Off => off;

    /// <summary>Takes a sample if <see cref="Interval"/> has passed since the last and returns the cap (0: none).</summary>
    internal int Update(int maxCpus)
    {
        lock (gate) return UpdateLocked(maxCpus);
    }

    private readonly Lock gate = new();

    private int UpdateLocked(int maxCpus)
    {
        if (off) return 0;
        long now = clock();
        if (last is not null && now - lastAt < IntervalTicks) return Cap;
        CpuSample? sample;
        try
        {
            sample = CpuLoad.Parse(read("/proc/stat"), read("/proc/self/stat"), CpuLoad.ParseAllowed(read("/proc/self/status")));
        }
        catch (Exception)
        {
            // Reading /proc must never fail a step: any error (no /proc, no permission, a sandbox) means no cap.
            sample = null;
        }
        if (sample is not { } s)
        {
            off = true;
            Cap = 0;
            return 0;
        }
        if (last is { } prev && CpuLoad.OthersBusy(prev, s) is { } others) Cap = CpuLoad.NextCap(s.Cpus - others, Cap, maxCpus);
        last = s;
        lastAt = now;
        return Cap;
    }
}
