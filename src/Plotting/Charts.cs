using System.Globalization;
using OnnxKeras.Saving;
using ScottPlot;

namespace OnnxKeras.Plotting;

/// <summary>
/// Draws <see cref="ChartPanel"/>s into one PNG image (a grid of panels), with ScottPlot 5 and an embedded font, so
/// it works the same on a bare machine with no fonts or graphics libraries installed.
/// </summary>
/// <remarks>
/// Drawing registers the embedded DejaVu Sans with ScottPlot under the name "OnnxKeras DejaVu Sans" and, through
/// ScottPlot's font styler, makes it <c>ScottPlot.Fonts.Default</c> for the process; other ScottPlot plots drawn later
/// then use it too (which also gives them text on machines without fonts). The same panels and size give the same bytes
/// on every machine.
/// </remarks>
public static class Charts
{
    /// <summary>Smallest accepted image side in pixels.</summary>
    public const int MinSize = 16;

    /// <summary>Largest accepted image side in pixels.</summary>
    public const int MaxSize = 8192;

    private static readonly Color[] Palette =
        [Color.FromHex("#1f77b4"), Color.FromHex("#ff7f0e"), Color.FromHex("#2ca02c"), Color.FromHex("#d62728"),
         Color.FromHex("#9467bd"), Color.FromHex("#8c564b"), Color.FromHex("#e377c2"), Color.FromHex("#7f7f7f")];

    /// <summary>
    /// Renders <paramref name="panels"/> side by side (<paramref name="columns"/> per row; 0 chooses up to 3) into a PNG
    /// of exactly <paramref name="width"/> x <paramref name="height"/> pixels.
    /// </summary>
    /// <exception cref="ArgumentException">No panels, a panel without any drawable point, or a size outside
    /// <see cref="MinSize"/>..<see cref="MaxSize"/>.</exception>
    public static byte[] RenderPng(IReadOnlyList<ChartPanel> panels, int width, int height, int columns = 0)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0) throw new ArgumentException("There is nothing to draw: no panels were given.", nameof(panels));
        CheckSize(width, nameof(width));
        CheckSize(height, nameof(height));
        if (columns < 0) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be 0 (automatic) or positive.");
        foreach (var p in panels)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(panels));
            if (!p.Series.Any(s => Points(s, p).Any()))
                throw new ArgumentException(
                    $"Panel '{p.Title}' has no finite point to draw{(p.LogX || p.LogY ? " (log axes need positive values)" : "")}.", nameof(panels));
        }
        EmbeddedFonts.EnsureRegistered();
        int cols = columns > 0 ? Math.Min(columns, panels.Count) : Math.Min(3, panels.Count);
        int rows = (panels.Count + cols - 1) / cols;

        var figure = new Multiplot();
        figure.AddPlots(panels.Count);
        figure.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, cols);
        for (int i = 0; i < panels.Count; i++) Draw(figure.GetPlot(i), panels[i]);
        var image = figure.Render(width, height);
        return image.GetImageBytes(ImageFormat.Png);
    }

    /// <summary>
    /// <see cref="RenderPng"/> written to <paramref name="path"/> atomically (a temporary file in the same folder, then a
    /// rename): a reader never sees a half-written image. The folder is created if missing.
    /// </summary>
    /// <exception cref="IOException">The file or its folder cannot be written (the message names the path).</exception>
    public static void SavePng(string path, IReadOnlyList<ChartPanel> panels, int width, int height, int columns = 0)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var png = RenderPng(panels, width, height, columns);
        WriteAtomically(path, png);
    }

    internal static void WriteAtomically(string path, byte[] bytes)
    {
        string full = Path.GetFullPath(path);
        try
        {
            AtomicFile.Write(full, s => s.Write(bytes));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"Cannot write the image '{full}': {e.Message}", e);
        }
    }

    private static void CheckSize(int value, string name)
    {
        if (value < MinSize || value > MaxSize)
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be between {MinSize} and {MaxSize} pixels.");
    }

    private static IEnumerable<(double X, double Y)> Points(ChartSeries s, ChartPanel p)
    {
        for (int i = 0; i < s.X.Count; i++)
        {
            double x = s.X[i], y = s.Y[i];
            if (!double.IsFinite(x) || !double.IsFinite(y)) continue;
            if ((p.LogX && x <= 0) || (p.LogY && y <= 0)) continue;
            yield return (p.LogX ? Math.Log10(x) : x, p.LogY ? Math.Log10(y) : y);
        }
    }

    private static void Draw(Plot plot, ChartPanel panel)
    {
        plot.Font.Set(EmbeddedFonts.Name);
        plot.Legend.FontName = EmbeddedFonts.Name;
        plot.Title(panel.Title, size: 15);
        plot.XLabel(panel.XLabel, size: 13);
        plot.YLabel(panel.YLabel, size: 13);
        for (int i = 0; i < panel.Series.Count; i++)
        {
            var s = panel.Series[i];
            var pts = Points(s, panel).ToArray();
            if (pts.Length == 0) continue;
            var line = plot.Add.Scatter(pts.Select(p => p.X).ToArray(), pts.Select(p => p.Y).ToArray(), Palette[i % Palette.Length]);
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = s.Markers ? 6 : 0;
            if (s.Dashed) line.LinePattern = LinePattern.Dashed;
        }
        if (panel.LogX) plot.Axes.Bottom.TickGenerator = LogTicks(vertical: false, panel);
        else if (panel.IntegerX) plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (panel.LogY) plot.Axes.Left.TickGenerator = LogTicks(vertical: true, panel);
        if (panel.Series.Any(s => s.Label.Length > 0 && Points(s, panel).Any()))
            plot.ShowLegend(LegendCorner(panel));
        plot.Axes.AutoScale();
    }

    /// <summary>The corner with the fewest points under it (matplotlib's loc="best", simplified): falling loss curves keep
    /// the legend upper right, rising accuracy curves push it lower right.</summary>
    private static Alignment LegendCorner(ChartPanel panel)
    {
        var pts = panel.Series.SelectMany(s => Points(s, panel)).ToArray();
        double x0 = pts.Min(p => p.X), x1 = pts.Max(p => p.X), y0 = pts.Min(p => p.Y), y1 = pts.Max(p => p.Y);
        double Nx(double x) => x1 > x0 ? (x - x0) / (x1 - x0) : 0.5;
        double Ny(double y) => y1 > y0 ? (y - y0) / (y1 - y0) : 0.5;
        var corners = new (Alignment Corner, Func<double, double, bool> Under)[]
        {
            (Alignment.UpperRight, (x, y) => x >= 0.55 && y >= 0.7),
            (Alignment.UpperLeft, (x, y) => x <= 0.45 && y >= 0.7),
            (Alignment.LowerRight, (x, y) => x >= 0.55 && y <= 0.3),
            (Alignment.LowerLeft, (x, y) => x <= 0.45 && y <= 0.3),
        };
        return corners.OrderBy(c => pts.Count(p => c.Under(Nx(p.X), Ny(p.Y)))).First().Corner; // stable: ties keep the order above
    }

    /// <summary>Ticks for a log10-transformed axis: 1-2-5 steps (only powers of ten over wide ranges), labelled in data units.</summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(bool vertical, ChartPanel panel)
    {
        var values = panel.Series.SelectMany(s => Points(s, panel)).Select(p => vertical ? p.Y : p.X).ToArray();
        double lo = values.Min(), hi = values.Max();
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        var distinct = values.Distinct().Order().ToArray();
        IEnumerable<double> positions;
        if (!vertical && distinct.Length <= 12)
        {
            positions = distinct; // few x values (batch sizes, widths): label exactly those
        }
        else
        {
            var list = new List<double>();
            int d0 = (int)Math.Floor(lo), d1 = (int)Math.Ceiling(hi);
            // Powers of ten over wide ranges, 1-2-5 steps over a few decades, every digit when that still gives < 3 ticks.
            double[][] choices = d1 - d0 > 4 ? [[1]] : [[1, 2, 5], [1, 1.5, 2, 3, 4, 5, 6, 7, 8, 9]];
            foreach (var steps in choices)
            {
                list.Clear();
                for (int d = d0; d <= d1; d++)
                    foreach (var m in steps)
                    {
                        double v = Math.Log10(m) + d;
                        if (v >= lo - 1e-9 && v <= hi + 1e-9) list.Add(v);
                    }
                if (list.Count >= 3) break;
            }
            if (list.Count < 2) { list.Add(lo); list.Add(hi); }
            positions = list.Distinct();
        }
        foreach (var v in positions) ticks.AddMajor(v, Format(Math.Pow(10, v)));
        return ticks;
    }

    /// <summary>A short tick label: 1,024 -> "1024", 118,282 -> "118k", 2.5e6 -> "2.5M", 0.005 -> "0.005".</summary>
    internal static string Format(double v)
    {
        double a = Math.Abs(v);
        var c = CultureInfo.InvariantCulture;
        if (a >= 1e9) return (v / 1e9).ToString("G3", c) + "G";
        if (a >= 1e6) return (v / 1e6).ToString("G3", c) + "M";
        if (a >= 1e4) return (v / 1e3).ToString("G3", c) + "k";
        return v.ToString("G4", c);
    }
}
