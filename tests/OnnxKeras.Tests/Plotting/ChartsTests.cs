using OnnxKeras.Plotting;
using SkiaSharp;
using Xunit;

namespace OnnxKeras.Tests.Plotting;

public class ChartsTests
{
    [Theory]
    [InlineData(1024, "1024")]
    [InlineData(118_282, "118k")]
    [InlineData(5_824_522, "5.82M")]
    [InlineData(604_016_640, "604M")]
    [InlineData(2.5e9, "2.5G")]
    [InlineData(0.005, "0.005")]
    public void TickLabelsAreShort(double value, string expected) => Assert.Equal(expected, Charts.Format(value));

    [Fact]
    public void LogPanelsDrawAndLeaveOutNonPositivePoints()
    {
        var panel = new ChartPanel("log-log", "batch", "ms") { LogX = true, LogY = true }
            .AddLine("a", [32, 64, 128, 256], [0.5, 1.0, 2.0, 4.0])
            .AddLine("b", [0, 64, 128, 256], [1.0, -1, 2.5, 5.0], dashed: true)
            .AddLine("ref", [32, 256], [1, 1], markers: false);
        using var bmp = SKBitmap.Decode(Charts.RenderPng([panel, panel, panel, panel], 800, 600, columns: 2));
        Assert.Equal((800, 600), (bmp.Width, bmp.Height));
    }

    [Fact]
    public void BadPanelsAreRejectedWithTheirName()
    {
        Assert.Throws<ArgumentException>(() => Charts.RenderPng([], 400, 300));
        var onlyNegative = new ChartPanel("negative on log").AddLine("a", [1, 2], [-1, -2]);
        var logY = new ChartPanel("log y", yLabel: "ms") { LogY = true }.AddLine("a", [1, 2], [-1, -2]);
        Assert.Contains("'log y'", Assert.Throws<ArgumentException>(() => Charts.RenderPng([logY], 400, 300)).Message);
        Assert.Equal(400, SKBitmap.Decode(Charts.RenderPng([onlyNegative], 400, 300)).Width);   // negative is fine on a linear axis
        Assert.Throws<ArgumentException>(() => new ChartPanel("p").AddLine("a", [1, 2, 3], [1, 2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Charts.RenderPng([onlyNegative], 400, 300, columns: -1));
    }
}
