using OnnxKeras.Callbacks;
using Xunit;
using static OnnxKeras.Tests.Callbacks.CallbackTestModels;

namespace OnnxKeras.Tests.Callbacks;

/// <summary>
/// The monitor logic shared by EarlyStopping, ModelCheckpoint and ReduceLROnPlateau, against Keras 3's
/// keras/src/callbacks/monitor_callback.py (auto by metric, min_delta on the value) and reduce_lr_on_plateau.py
/// (auto by "acc", min_delta on the reference).
/// </summary>
public class MonitorOpTests
{
    [Theory]
    [InlineData("val_loss", true)]
    [InlineData("loss", true)]
    [InlineData("val_mean_squared_error", true)]
    [InlineData("mae", true)]
    [InlineData("val_accuracy", false)]
    [InlineData("auc", false)]
    [InlineData("val_precision", false)]
    [InlineData("recall", false)]
    public void AutoByMetric_LossesAndErrorsMinimize_AccuracyLikeMetricsMaximize(string monitor, bool minimize) =>
        Assert.Equal(minimize, MonitorOp.For(monitor, "auto", 0, AutoDirection.ByMetric, "EarlyStopping").Minimize);

    [Theory]
    [InlineData("val_accuracy", false)]
    [InlineData("val_auc", true)] // no "acc" in the name: ReduceLROnPlateau minimizes it, unlike MonitorCallback
    [InlineData("my_metric", true)]
    public void AutoByAcc_MaximizesOnlyNamesWithAcc(string monitor, bool minimize) =>
        Assert.Equal(minimize, MonitorOp.For(monitor, "auto", 0, AutoDirection.ByAcc, "ReduceLROnPlateau").Minimize);

    [Fact]
    public void MinAndMaxOverrideTheName_AndAnUnknownNameUnderAutoByMetricThrows()
    {
        Assert.False(MonitorOp.For("val_loss", "max", 0, AutoDirection.ByMetric, "X").Minimize);
        Assert.True(MonitorOp.For("val_accuracy", "min", 0, AutoDirection.ByAcc, "X").Minimize);
        var e = Assert.Throws<ArgumentException>(() => MonitorOp.For("my_metric", "auto", 0, AutoDirection.ByMetric, "EarlyStopping"));
        Assert.StartsWith("EarlyStopping callback received monitor=my_metric, but cannot automatically determine", e.Message);
    }

    [Fact]
    public void UnknownModesFallBackToAutoWithTheWarning()
    {
        var warnings = new StringWriter();
        Assert.Equal("auto", MonitorOp.ModeOrAuto("sideways", warnings, "mode sideways is unknown"));
        Assert.Equal("max", MonitorOp.ModeOrAuto("max", warnings, "not written"));
        Assert.Equal("mode sideways is unknown" + Environment.NewLine, warnings.ToString());
    }

    [Fact]
    public void IsImprovement_NeedsMoreThanMinDelta_AndNaNNeverImproves()
    {
        var min = new MonitorOp(Minimize: true, MinDelta: 0.25);
        Assert.True(min.IsImprovement(0.5, 1.0));    // 0.5 + 0.25 = 0.75 < 1
        Assert.False(min.IsImprovement(0.75, 1.0));  // 0.75 + 0.25 = 1, not below 1
        Assert.True(min.IsImprovement(1e300, null)); // the reference defaults to +inf
        Assert.False(min.IsImprovement(double.NaN, null));
        var max = new MonitorOp(Minimize: false, MinDelta: 0.25);
        Assert.True(max.IsImprovement(1.5, 1.0));    // 1.5 - 0.25 = 1.25 > 1
        Assert.False(max.IsImprovement(1.25, 1.0));
        Assert.Equal(double.NegativeInfinity, max.Worst);
        Assert.Equal(double.PositiveInfinity, min.Worst);
    }

    [Fact]
    public void BeatsShiftedReference_AppliesTheMarginToTheReference()
    {
        var min = new MonitorOp(Minimize: true, MinDelta: 0.5);
        Assert.True(min.BeatsShiftedReference(1.0, 2.0));   // 1 < 2 - 0.5
        Assert.False(min.BeatsShiftedReference(1.5, 2.0));  // 1.5 is not below 1.5
        var max = new MonitorOp(Minimize: false, MinDelta: 0.5);
        Assert.True(max.BeatsShiftedReference(3.0, 2.0));   // 3 > 2 + 0.5
        Assert.False(max.BeatsShiftedReference(2.5, 2.0));
        Assert.False(max.BeatsShiftedReference(double.NaN, double.NegativeInfinity));
        // The two forms round differently: in binary floating point 0.1 + 0.3 == 0.4, but 0.4 - 0.3 == 0.10000000000000003 > 0.1.
        var tiny = new MonitorOp(Minimize: true, MinDelta: 0.3);
        Assert.False(tiny.IsImprovement(0.1, 0.4));
        Assert.True(tiny.BeatsShiftedReference(0.1, 0.4));
    }

    [Fact]
    public void EarlyStoppingOnAMetricAutoCannotPlaceThrowsKerasMessageWhenTrainingBegins()
    {
        using var model = Linear(0.1);
        var e = Assert.Throws<ArgumentException>(() => model.Fit(Column(0, 0), Column(1, 3), epochs: 1, verbose: 0, callbacks: [new EarlyStopping(monitor: "my_metric")]));
        Assert.Contains("EarlyStopping callback received monitor=my_metric", e.Message);
    }
}
