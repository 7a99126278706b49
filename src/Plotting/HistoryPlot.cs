using OnnxKeras.Callbacks;

namespace OnnxKeras.Plotting;

/// <summary>
/// Training curves of a <see cref="History"/> as a PNG: one panel per quantity (loss first, then each metric in the
/// order Fit logged them), the training curve and, when Fit validated, the <c>val_</c> curve, per epoch (1-based), as
/// in the Keras tutorials' matplotlib plots.
/// </summary>
/// <example><code>
/// History h = model.Fit(x, y, epochs: 10, validationSplit: 0.2);
/// h.SavePlot("history.png");                                   // loss and accuracy panels, training and validation
/// h.SavePlot("loss.png", width: 640, height: 400, metrics: ["loss"], title: "MLP");
/// </code></example>
public static class HistoryPlot
{
    /// <summary>Width of one panel when no width is given.</summary>
    public const int DefaultPanelWidth = 480;

    /// <summary>Default image height.</summary>
    public const int DefaultHeight = 400;

    /// <summary>
    /// Writes the training curves of <paramref name="history"/> to <paramref name="path"/> as a PNG, atomically
    /// (a temporary file, then a rename); the folder is created if missing.
    /// </summary>
    /// <param name="history">What <c>Fit</c> returned.</param>
    /// <param name="path">The PNG file to write (replaced if it exists).</param>
    /// <param name="width">Image width in pixels; 0 gives <see cref="DefaultPanelWidth"/> per panel column.</param>
    /// <param name="height">Image height in pixels; 0 gives <see cref="DefaultHeight"/> per panel row.</param>
    /// <param name="metrics">The quantities to draw, e.g. <c>["loss", "accuracy"]</c> (default: all; the <c>val_</c>
    /// curve of each comes along).</param>
    /// <param name="title">Put before each panel's title, e.g. the model's name.</param>
    /// <exception cref="ArgumentException">The history holds no epoch, or a requested metric is not in it.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size outside <see cref="Charts.MinSize"/>..<see cref="Charts.MaxSize"/>.</exception>
    /// <exception cref="IOException">The file cannot be written (the message names the path).</exception>
    public static void SavePlot(this History history, string path, int width = 0, int height = 0, IEnumerable<string>? metrics = null, string? title = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var png = PlotPng(history, width, height, metrics, title);
        Charts.WriteAtomically(path, png);
    }

    /// <summary>The PNG bytes that <see cref="SavePlot"/> writes.</summary>
    /// <inheritdoc cref="SavePlot"
    ///     path="/param[@name='history']|/param[@name='width']|/param[@name='height']|/param[@name='metrics']|/param[@name='title']|/exception"/>
    public static byte[] PlotPng(this History history, int width = 0, int height = 0, IEnumerable<string>? metrics = null, string? title = null)
    {
        var panels = ToChartPanels(history, metrics, title);
        int cols = Math.Min(3, panels.Count), rows = (panels.Count + cols - 1) / cols;
        return Charts.RenderPng(panels, width == 0 ? Math.Min(Charts.MaxSize, DefaultPanelWidth * cols) : width,
                                height == 0 ? Math.Min(Charts.MaxSize, DefaultHeight * rows) : height, cols);
    }

    /// <summary>The panels of the plot (to combine with others in <see cref="Charts.SavePng"/>).</summary>
    /// <inheritdoc cref="SavePlot" path="/param[@name='history']|/param[@name='metrics']|/param[@name='title']"/>
    /// <exception cref="ArgumentException">The history holds no epoch, or a requested metric is not in it.</exception>
    public static IReadOnlyList<ChartPanel> ToChartPanels(this History history, IEnumerable<string>? metrics = null, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(history);
        var data = history.HistoryData;
        if (data.Count == 0 || data.Values.All(v => v.Count == 0))
            throw new ArgumentException("The history has no epochs to plot: pass the History that Fit returned after at least one epoch.", nameof(history));

        // Quantities in logged order: "loss", "accuracy", ... and bases of val_-only entries.
        var names = new List<string>();
        foreach (var key in data.Keys)
        {
            string name = key.StartsWith("val_", StringComparison.Ordinal) && key.Length > 4 ? key[4..] : key;
            if (!names.Contains(name)) names.Add(name);
        }
        if (metrics is not null)
        {
            var wanted = metrics.ToList();
            if (wanted.Count == 0) throw new ArgumentException("metrics is empty: name at least one quantity, or pass null for all.", nameof(metrics));
            var unknown = wanted.Where(m => !names.Contains(m)).ToList();
            if (unknown.Count > 0)
                throw new ArgumentException(
                    $"The history has no {string.Join(", ", unknown.Select(u => $"'{u}'"))}. It has: {string.Join(", ", names)}.", nameof(metrics));
            names = wanted.Distinct().ToList();
        }

        var panels = new List<ChartPanel>();
        foreach (var name in names)
        {
            var panel = new ChartPanel(title is null ? name : $"{title} {name}", "epoch", name) { IntegerX = true };
            if (data.TryGetValue(name, out var train) && train.Count > 0)
                panel.AddLine("training", Enumerable.Range(1, train.Count).Select(e => (double)e), train);
            if (data.TryGetValue("val_" + name, out var val) && val.Count > 0)
                panel.AddLine("validation", Enumerable.Range(1, val.Count).Select(e => (double)e), val);
            panels.Add(panel);
        }
        return panels;
    }
}
