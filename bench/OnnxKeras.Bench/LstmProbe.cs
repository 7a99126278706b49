using System.Diagnostics;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace OnnxKeras.Bench;

/// <summary>
/// Diagnostic for bench/NOTES.md (2026-12-06, lstm_b64's speed in one process): <c>lstm-probe ORDER [--threads N]</c>,
/// ORDER a comma-separated list run in one process: <c>lstm</c> times the LSTM case (3 rounds of 8 loop steps and 8 Fit
/// steps: wall ms/step, user and system CPU ms/step, minor page faults/step, libtorch's thread count); <c>peak</c> prints
/// the matmul and convolution peaks; a case id trains that case 2 epochs (Fit and loop). Linux only (getrusage).
/// </summary>
internal static class LstmProbe
{
    [DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRusage(int who, long[] usage);

    /// <summary>User and system CPU milliseconds and minor page faults of this process so far.</summary>
    private static (double User, double Sys, long MinorFaults) Usage()
    {
        var u = new long[18]; // struct rusage: two timevals, then 14 longs (ru_minflt is the 5th)
        if (GetRusage(0, u) != 0) throw new InvalidOperationException("getrusage failed");
        return (u[0] * 1e3 + u[1] / 1e3, u[2] * 1e3 + u[3] / 1e3, u[8]);
    }

    public static void Run(string order)
    {
        if (!OperatingSystem.IsLinux()) throw new PlatformNotSupportedException("lstm-probe reads getrusage (Linux).");
        foreach (var step in order.Split(','))
        {
            if (step == "lstm") Measure();
            else if (step == "peak") Console.WriteLine($"peak GFLOP/s (matmul, conv) {FitBenchmark.PeakGflops()}");
            else
            {
                using var c = TrainCase.All(new HashSet<string> { step }).SingleOrDefault()?.Invoke() ?? throw new ArgumentException($"Unknown step '{step}'.");
                for (int e = 0; e < 2; e++) { c.FitEpoch(); c.HandEpoch(); }
                Console.WriteLine($"trained {step} 2 epochs");
            }
        }
    }

    private static void Measure()
    {
        using var c = TrainCase.LstmClassifier();
        Console.WriteLine($"lstm_b64: libtorch threads {get_num_threads()}, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        c.HandSteps(0, 3);
        c.FitSteps(0, 3);
        for (int round = 0; round < 3; round++)
        {
            Console.WriteLine($"  loop {Time(() => c.HandSteps(0, 8))}; Fit {Time(() => c.FitSteps(0, 8))}");
        }

        static string Time(Action run)
        {
            var u = Usage();
            var sw = Stopwatch.StartNew();
            run();
            double wall = sw.Elapsed.TotalMilliseconds / 8;
            var v = Usage();
            return $"{wall:0.0} ms/step (user {(v.User - u.User) / 8:0.0}, system {(v.Sys - u.Sys) / 8:0.0} ms; {(v.MinorFaults - u.MinorFaults) / 8.0:0} minor faults)";
        }
    }
}
