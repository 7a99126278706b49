using System.Diagnostics;
using System.Globalization;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Keras's progress display. verbose 1: a bar per epoch redrawn in place (step counter, bar, ETA or total time,
/// time per step, running metrics), at most every 50 ms, so metric values are read from the device only when
/// shown; when output is not a terminal the bar is printed once per epoch instead. verbose 2: one line per epoch.
/// verbose 0: nothing.
/// </summary>
internal sealed class Progbar
{
    private readonly TextWriter output;
    private readonly int verbose;
    private readonly bool interactive;
    private readonly Stopwatch clock = new();
    private long lastDraw = -1;
    private int lastWidth;

    public Progbar(int verbose, TextWriter? output = null)
    {
        this.verbose = verbose;
        this.output = output ?? Console.Out;
        interactive = output is null && !Console.IsOutputRedirected;
    }

    public void EpochBegin(int epoch, int epochs)
    {
        if (verbose == 0) return;
        output.WriteLine($"Epoch {epoch + 1}/{epochs}");
        clock.Restart();
        lastDraw = -1;
        lastWidth = 0;
    }

    /// <summary>Called after each step; <paramref name="logs"/> is evaluated only when the line is redrawn.</summary>
    public void Update(int step, long? total, Func<IReadOnlyDictionary<string, double>> logs)
    {
        if (verbose != 1 || !interactive) return;
        long now = clock.ElapsedMilliseconds;
        if (lastDraw >= 0 && now - lastDraw < 50) return;
        lastDraw = now;
        Draw(step, total, logs(), final: false);
    }

    public void EpochEnd(int steps, IReadOnlyDictionary<string, double> logs)
    {
        if (verbose == 0) return;
        if (verbose == 2)
        {
            double s = clock.Elapsed.TotalSeconds;
            output.WriteLine($"{steps}/{steps} - {FormatSeconds(s)} - {FormatPerStep(s / Math.Max(1, steps))} - {FormatLogs(logs)}");
            return;
        }
        Draw(steps, steps, logs, final: true);
        output.WriteLine();
    }

    private void Draw(int step, long? total, IReadOnlyDictionary<string, double> logs, bool final)
    {
        double elapsed = clock.Elapsed.TotalSeconds;
        double perStep = elapsed / Math.Max(1, step);
        string line;
        if (total is long t && t > 0)
        {
            int width = t.ToString(CultureInfo.InvariantCulture).Length;
            const int barWidth = 20;
            int filled = (int)Math.Min(barWidth, barWidth * step / t);
            string bar = new string('━', filled) + new string('─', barWidth - filled);
            string time = final ? FormatSeconds(elapsed) : $"ETA: {FormatSeconds(perStep * (t - step))}";
            line = $"{step.ToString(CultureInfo.InvariantCulture).PadLeft(width)}/{t} {bar} {time} {FormatPerStep(perStep)}";
        }
        else
        {
            line = $"{step} {FormatSeconds(elapsed)} {FormatPerStep(perStep)}";
        }
        if (logs.Count > 0) line += " - " + FormatLogs(logs);
        if (interactive)
        {
            output.Write("\r" + line.PadRight(lastWidth));
            lastWidth = line.Length;
        }
        else output.Write(line);
    }

    private static string FormatLogs(IReadOnlyDictionary<string, double> logs) =>
        string.Join(" - ", logs.Select(kv => $"{kv.Key}: {FormatValue(kv.Value)}"));

    private static string FormatValue(double v) =>
        Math.Abs(v) >= 1e-3 || v == 0 ? v.ToString("0.0000", CultureInfo.InvariantCulture) : v.ToString("0.0000e+00", CultureInfo.InvariantCulture);

    private static string FormatSeconds(double s) =>
        s < 1 ? $"{s * 1000:0}ms"
        : s < 3600 ? $"{s:0}s"
        : $"{(int)(s / 3600)}:{(int)(s % 3600 / 60):00}:{(int)(s % 60):00}";

    private static string FormatPerStep(double s) => s >= 1 ? $"{s:0}s/step" : s >= 1e-3 ? $"{s * 1e3:0}ms/step" : $"{s * 1e6:0}us/step";
}
