namespace OnnxKeras.Plotting;

/// <summary>One line of a <see cref="ChartPanel"/>: points (x, y) drawn in order, with a legend label.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values, one per x; non-finite points are left out of the drawing.</param>
/// <param name="Dashed">Draw a dashed line (e.g. a baseline) instead of a solid one.</param>
/// <param name="Markers">Mark each point (off for reference lines).</param>
public sealed record ChartSeries(string Label, IReadOnlyList<double> X, IReadOnlyList<double> Y, bool Dashed = false, bool Markers = true);

/// <summary>
/// One panel (subplot) of a figure: a title, axis labels and line series. Render panels with
/// <see cref="Charts.RenderPng"/> or <see cref="Charts.SavePng"/>.
/// </summary>
/// <example><code>
/// var panel = new ChartPanel("step time", "batch size", "ms per step") { LogX = true }
///     .AddLine("Fit", [32, 64, 128], [1.0, 1.5, 2.4])
///     .AddLine("loop", [32, 64, 128], [0.9, 1.4, 2.3], dashed: true);
/// Charts.SavePng("steps.png", [panel], 800, 500);
/// </code></example>
public sealed class ChartPanel(string title, string xLabel = "", string yLabel = "")
{
    private readonly List<ChartSeries> series = [];

    /// <summary>Title drawn above the panel.</summary>
    public string Title { get; } = title ?? throw new ArgumentNullException(nameof(title));

    /// <summary>Label of the horizontal axis.</summary>
    public string XLabel { get; } = xLabel ?? "";

    /// <summary>Label of the vertical axis.</summary>
    public string YLabel { get; } = yLabel ?? "";

    /// <summary>Logarithmic horizontal axis (all x values must be positive).</summary>
    public bool LogX { get; init; }

    /// <summary>Ticks only at whole numbers on the horizontal axis (epochs, steps).</summary>
    public bool IntegerX { get; init; }

    /// <summary>Logarithmic vertical axis (non-positive y values are left out).</summary>
    public bool LogY { get; init; }

    /// <summary>The lines, in drawing (and legend) order.</summary>
    public IReadOnlyList<ChartSeries> Series => series;

    /// <summary>Adds a line; returns this panel for chaining.</summary>
    /// <exception cref="ArgumentException">The x and y lists differ in length.</exception>
    public ChartPanel AddLine(string label, IEnumerable<double> x, IEnumerable<double> y, bool dashed = false, bool markers = true)
    {
        ArgumentNullException.ThrowIfNull(label);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        double[] xs = [.. x], ys = [.. y];
        if (xs.Length != ys.Length)
            throw new ArgumentException($"Series '{label}' of panel '{Title}' has {xs.Length} x values but {ys.Length} y values.", nameof(y));
        series.Add(new ChartSeries(label, xs, ys, dashed, markers));
        return this;
    }
}
