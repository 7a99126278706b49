using System.Diagnostics;
using Xunit;

namespace OnnxKeras.Tests.Core;

/// <summary>
/// The load-aware cap of the automatic thread count (docs/training.md, "Devices and threads"): parsing hand-made
/// <c>/proc</c> texts, the CPUs other processes use between two samples, the hysteresis, and falling back to no cap
/// when <c>/proc</c> cannot be read. Expected numbers are counted by hand from the samples; no timings.
/// </summary>
public class CpuLoadTests
{
    // Two CPUs; fields: user nice system idle iowait irq softirq steal guest guest_nice (clock ticks).
    private const string Before = """
        cpu  1000 0 200 3000 100 0 10 0 0 0
        cpu0 500 0 100 1500 50 0 5 0 0 0
        cpu1 500 0 100 1500 50 0 5 0 0 0
        intr 12345 0 1 2
        ctxt 999
        procs_running 1
        """;

    // utime 250 and stime 50 (fields 14 and 15): 300 ticks; the name holds spaces and parentheses.
    private const string SelfBefore = "4242 (my (odd) app) R 1 4242 4242 0 -1 4194304 99 0 1 0 250 50 0 0 20 0 9 0 2562620 3133440 413";

    private static string Stat(long user0, long idle0, long user1, long idle1, long steal1 = 0) =>
        $"cpu  {user0 + user1} 0 200 {idle0 + idle1} 100 0 10 {steal1} 0 0\n" +
        $"cpu0 {user0} 0 100 {idle0} 50 0 5 0 0 0\ncpu1 {user1} 0 100 {idle1} 50 0 5 {steal1} 0 0\nintr 1\n";

    private static string Self(long utime, long stime) => $"4242 (my (odd) app) R 1 4242 4242 0 -1 4194304 99 0 1 0 {utime} {stime} 0 0 20 0 9";

    private static CpuSample Parse(string stat, string self, IReadOnlySet<int>? allowed = null) =>
        CpuLoad.Parse(stat, self, allowed) ?? throw new InvalidOperationException("sample not parsed");

    [Fact]
    public void Parse_SumsAllowedCpus_IdleAndIowaitAreNotBusy()
    {
        var all = Parse(Before, SelfBefore);
        // Aggregate line: 1000 + 200 + 3000 + 100 + 10 = 4310 total; idle 3000 + iowait 100 -> busy 1210; own 250 + 50.
        Assert.Equal(new CpuSample(4310, 1210, 300, 2), all);
        // Only cpu1 allowed: 500 + 100 + 1500 + 50 + 5 = 2155 total, busy 2155 - 1550 = 605.
        Assert.Equal(new CpuSample(2155, 605, 300, 1), Parse(Before, SelfBefore, new HashSet<int> { 1 }));
    }

    [Theory]
    [InlineData("cpu  1 2 3\n")]                        // fewer than four times
    [InlineData("cpu  1 x 3 4 5\n")]                    // not a number
    [InlineData("intr 1 2 3\n")]                        // no cpu line
    public void Parse_MalformedStat_IsNull(string stat) => Assert.Null(CpuLoad.Parse(stat, SelfBefore, null));

    [Fact]
    public void Parse_MalformedSelfStatOrNoAllowedCpuListed_IsNull()
    {
        Assert.Null(CpuLoad.Parse(Before, "4242 my app R 1", null));
        Assert.Null(CpuLoad.Parse(Before, "4242 (app) R 1 2 3", null));
        Assert.Null(CpuLoad.Parse(Before, SelfBefore, new HashSet<int> { 7 }));
    }

    [Theory]
    [InlineData("0-3,8,10-11", new[] { 0, 1, 2, 3, 8, 10, 11 })]
    [InlineData("0-1\n", new[] { 0, 1 })]
    [InlineData("5", new[] { 5 })]
    public void ParseCpuList_ReadsRangesAndSingles(string list, int[] expected) =>
        Assert.Equal(expected, CpuLoad.ParseCpuList(list)!.Order());

    [Theory]
    [InlineData("")]
    [InlineData("3-1")]
    [InlineData("a")]
    [InlineData("1-2-3")]
    public void ParseCpuList_Malformed_IsNull(string list) => Assert.Null(CpuLoad.ParseCpuList(list));

    [Fact]
    public void ParseAllowed_ReadsTheStatusLine()
    {
        const string status = "Name:\tdotnet\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed:\t1\n";
        Assert.Equal([0, 1], CpuLoad.ParseAllowed(status)!.Order());
        Assert.Null(CpuLoad.ParseAllowed("Name:\tdotnet\n"));
    }

    [Fact]
    public void OthersBusy_IdleMachine_OnlyOwnTime_IsZero()
    {
        // One second at 100 Hz on 2 CPUs: 200 ticks. This process used 100 + 50 of them (user on both CPUs).
        var after = Parse(Stat(600, 1550, 550, 1650), Self(350, 100));
        Assert.Equal(0.0, CpuLoad.OthersBusy(Parse(Before, SelfBefore), after));
        Assert.Equal(2, CpuLoad.NextCap(2 - 0.0, 0, 2));
    }

    [Fact]
    public void OthersBusy_OwnSpinningWorkersAreOurs()
    {
        // Both CPUs busy all second, all of it this process's (OpenMP workers spinning): nobody else.
        var after = Parse(Stat(600, 1500, 600, 1500), Self(450, 50));
        Assert.Equal(0.0, CpuLoad.OthersBusy(Parse(Before, SelfBefore), after));
    }

    [Fact]
    public void OthersBusy_OneCpuBusyOnTwo_LeavesOneThread()
    {
        // cpu1 user +100 (another process), cpu0 idle +100, own +0: (100 - 0) / 200 x 2 CPUs = 1 CPU busy, 1 free.
        var after = Parse(Stat(500, 1600, 600, 1500), SelfBefore);
        Assert.Equal(1.0, CpuLoad.OthersBusy(Parse(Before, SelfBefore), after));
        Assert.Equal(1, CpuLoad.NextCap(2 - 1.0, 0, 2));
    }

    [Fact]
    public void OthersBusy_CountsSteal()
    {
        // cpu1 +100 steal (the hypervisor ran another guest), cpu0 idle +100: 1 CPU taken.
        var after = Parse(Stat(500, 1600, 500, 1500, steal1: 100), SelfBefore);
        Assert.Equal(1.0, CpuLoad.OthersBusy(Parse(Before, SelfBefore), after));
    }

    [Fact]
    public void OthersBusy_ContendedShare_TwoThirds()
    {
        // Our 2 threads and one spinner share 2 CPUs, 2/3 each: own 133 + spinner 67 of 200 ticks -> 0.67 CPUs.
        var after = Parse(Stat(600, 1500, 600, 1500), Self(383, 50));
        Assert.Equal(67.0 / 200 * 2, CpuLoad.OthersBusy(Parse(Before, SelfBefore), after)!.Value, 12);
        Assert.Equal(1, CpuLoad.NextCap(2 - 0.67, 2, 2)); // fewer than 1.5 free: falls from 2 to 1
    }

    [Fact]
    public void OthersBusy_IncomparableSamples_IsNull()
    {
        var before = Parse(Before, SelfBefore);
        Assert.Null(CpuLoad.OthersBusy(before, before)); // no time passed
        Assert.Null(CpuLoad.OthersBusy(before, Parse(Before, SelfBefore, new HashSet<int> { 0 }))); // other CPUs
    }

    [Theory]
    // First decision (no previous cap): the free CPUs rounded, 1..max.
    [InlineData(2.0, 0, 2, 2)]
    [InlineData(1.5, 0, 2, 2)]
    [InlineData(1.49, 0, 2, 1)]
    [InlineData(1.0, 0, 2, 1)]
    [InlineData(0.0, 0, 2, 1)]
    [InlineData(8.0, 0, 4, 4)]
    // Falls only when fewer than previous - 0.5 CPUs are free, then to the free CPUs rounded.
    [InlineData(1.5, 2, 2, 2)]
    [InlineData(1.49, 2, 2, 1)]
    [InlineData(3.5, 4, 8, 4)]
    [InlineData(3.4, 4, 8, 3)]
    [InlineData(1.6, 4, 8, 2)]
    // Rises to n only when n - 0.25 CPUs are free.
    [InlineData(1.74, 1, 2, 1)]
    [InlineData(1.75, 1, 2, 2)]
    [InlineData(2.7, 2, 8, 2)]
    [InlineData(3.7, 2, 8, 3)]
    [InlineData(3.75, 2, 8, 4)]
    [InlineData(double.NaN, 2, 8, 2)]
    public void NextCap_Hysteresis(double free, int previous, int max, int expected) =>
        Assert.Equal(expected, CpuLoad.NextCap(free, previous, max));

    [Fact]
    public void NextCap_FreeCpusWavering_ChangesOnce()
    {
        // Another process wavering between 0.3 and 0.6 CPUs on a 2-CPU machine: one fall, then no flapping.
        double[] free = [1.6, 1.4, 1.6, 1.7, 1.4, 1.7, 1.5];
        int cap = 2;
        var caps = free.Select(f => cap = CpuLoad.NextCap(f, cap, 2)).ToArray();
        Assert.Equal([2, 1, 1, 1, 1, 1, 1], caps);
    }

    /// <summary>A <c>/proc</c> where every read of /proc/stat is one second later and cpu1 was busy with another process.</summary>
    internal sealed class OneCpuBusy
    {
        private long user1 = 500, idle0 = 1500;
        internal int StatReads { get; private set; }

        internal string Read(string path)
        {
            if (path == "/proc/self/status") return "Cpus_allowed_list:\t0-1\n";
            if (path == "/proc/self/stat") return SelfBefore;
            StatReads++;
            (user1, idle0) = (user1 + 100, idle0 + 100);
            return Stat(500, idle0, user1, 1500);
        }
    }

    [Fact]
    public void Monitor_SamplesAtMostEveryInterval_AndCapsToTheFreeCpus()
    {
        var proc = new OneCpuBusy();
        long now = 0;
        var monitor = new CpuLoadMonitor(proc.Read, () => now);
        Assert.Equal(0, monitor.Update(2)); // one sample: no cap yet
        now += Stopwatch.Frequency / 4;
        Assert.Equal(0, monitor.Update(2)); // 0.25 s later: not read again
        Assert.Equal(1, proc.StatReads);
        now += Stopwatch.Frequency / 4;
        Assert.Equal(1, monitor.Update(2)); // 0.5 s: second sample, cpu1 busy -> 1 free
        Assert.Equal(2, proc.StatReads);
        Assert.Equal(1, ThreadDefaults.Capped(2, monitor.Cap));
    }

    [Fact]
    public void Monitor_UnreadableProc_TurnsOffAndLeavesTheWorkBasedCount()
    {
        int reads = 0;
        var monitor = new CpuLoadMonitor(_ => { reads++; throw new UnauthorizedAccessException("no /proc"); }, () => reads * Stopwatch.Frequency);
        Assert.Equal(0, monitor.Update(2));
        Assert.Equal(0, monitor.Update(2));
        Assert.True(monitor.Off);
        Assert.Equal(1, reads); // not tried again
        Assert.Equal(2, ThreadDefaults.Capped(2, monitor.Cap)); // the behaviour without the cap
        var garbled = new CpuLoadMonitor(_ => "garbled", () => 0);
        Assert.Equal(0, garbled.Update(2));
        Assert.True(garbled.Off);
    }

    [Theory]
    [InlineData(2, 0, 2)]  // no cap: the work-based count
    [InlineData(6, 2, 2)]
    [InlineData(2, 1, 1)]
    [InlineData(1, 2, 1)]  // a tiny model stays on one thread on an idle machine
    public void Capped_IsTheSmallerOfWorkAndLoad(int work, int cap, int expected) =>
        Assert.Equal(expected, ThreadDefaults.Capped(work, cap));
}
