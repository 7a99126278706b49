namespace OnnxKeras.Callbacks;

/// <summary>How <c>mode: "auto"</c> picks the direction in which a monitored quantity improves.</summary>
internal enum AutoDirection
{
    /// <summary>
    /// Keras 3's <c>MonitorCallback</c> (EarlyStopping, ModelCheckpoint): <c>loss</c>, losses and errors minimize;
    /// accuracy, AUC, precision and recall maximize; any other name is an error.
    /// </summary>
    ByMetric,

    /// <summary>Keras's <c>ReduceLROnPlateau</c>: maximize when the monitor's name contains <c>acc</c>, else minimize.</summary>
    ByAcc,
}

/// <summary>
/// The monitor logic of Keras 3's <c>MonitorCallback</c> (keras/src/callbacks/monitor_callback.py), in one place for
/// <see cref="EarlyStopping"/>, <see cref="ModelCheckpoint"/> and <see cref="ReduceLROnPlateau"/>: valid modes and the
/// fallback for unknown ones, the direction <c>min</c>/<c>max</c>/<c>auto</c> means, the worst starting value, and the
/// improvement tests with <c>min_delta</c>. Each callback keeps its own timing (when it resolves the direction) and
/// messages, as in Keras.
/// </summary>
/// <param name="Minimize">Whether lower values are better.</param>
/// <param name="MinDelta">The margin an improvement must exceed (used as given: callers take its absolute value where Keras does).</param>
internal readonly record struct MonitorOp(bool Minimize, double MinDelta)
{
    /// <summary>Whether <paramref name="mode"/> is <c>auto</c>, <c>min</c> or <c>max</c>.</summary>
    public static bool IsValidMode(string mode) => mode is "auto" or "min" or "max";

    /// <summary>Keras's fallback: an unknown mode writes <paramref name="warning"/> and becomes <c>auto</c>.</summary>
    public static string ModeOrAuto(string mode, TextWriter warnings, string warning)
    {
        if (IsValidMode(mode)) return mode;
        warnings.WriteLine(warning);
        return "auto";
    }

    /// <summary>
    /// The direction for <paramref name="monitor"/> under <paramref name="mode"/>; <c>auto</c> follows
    /// <paramref name="auto"/> (and throws, naming <paramref name="who"/>, when <see cref="AutoDirection.ByMetric"/>
    /// cannot tell).
    /// </summary>
    public static MonitorOp For(string monitor, string mode, double minDelta, AutoDirection auto, string who)
    {
        bool minimize = mode switch
        {
            "min" => true,
            "max" => false,
            _ => auto == AutoDirection.ByAcc ? !monitor.Contains("acc", StringComparison.Ordinal) : AutoMinimizeByMetric(monitor, who),
        };
        return new MonitorOp(minimize, minDelta);
    }

    /// <summary>
    /// <c>auto</c> mode of Keras 3's MonitorCallback: <c>loss</c> minimizes, and a metric by the direction it improves in
    /// (losses and errors down; accuracy, AUC, precision, recall up); otherwise Keras raises.
    /// </summary>
    private static bool AutoMinimizeByMetric(string monitor, string who)
    {
        var name = monitor.StartsWith("val_", StringComparison.Ordinal) ? monitor[4..] : monitor;
        if (name.EndsWith("loss", StringComparison.Ordinal) || name.Contains("error", StringComparison.Ordinal) || name is "mse" or "mae" or "mape" or "msle")
            return true;
        if (name.Contains("acc", StringComparison.Ordinal) || name.Contains("auc", StringComparison.Ordinal)
            || name.Contains("precision", StringComparison.Ordinal) || name.Contains("recall", StringComparison.Ordinal))
            return false;
        throw new ArgumentException($"{who} callback received monitor={monitor}, but cannot automatically determine whether that metric " +
            "should be maximized or minimized. Pass mode: \"max\" in order to monitor based on the highest metric value, or mode: " +
            "\"min\" in order to use the lowest value.");
    }

    /// <summary>The value every real value beats: +inf when minimizing, -inf when maximizing.</summary>
    public double Worst => Minimize ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>
    /// Keras 3's <c>MonitorCallback._is_improvement</c>: <paramref name="value"/> beats <paramref name="reference"/>
    /// (<see cref="Worst"/> when null) by more than <see cref="MinDelta"/>, the margin applied to the value
    /// (<c>value + d &lt; reference</c> or <c>value - d &gt; reference</c>). NaN never improves.
    /// </summary>
    public bool IsImprovement(double value, double? reference)
    {
        double r = reference ?? Worst;
        return Minimize ? value + MinDelta < r : value - MinDelta > r;
    }

    /// <summary>
    /// Keras's <c>ReduceLROnPlateau</c> test: <c>np.less(value, reference - d)</c> or <c>np.greater(value, reference + d)</c>,
    /// the margin applied to the reference (it rounds differently from <see cref="IsImprovement"/>). NaN never improves.
    /// </summary>
    public bool BeatsShiftedReference(double value, double reference) =>
        Minimize ? value < reference - MinDelta : value > reference + MinDelta;
}
