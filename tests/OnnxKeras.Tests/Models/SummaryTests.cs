using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Models;

/// <summary>
/// Keras's model.summary(): one row per layer with "name (Type)", the output shape with None for the batch and the
/// parameter count, then totals printed as "N (size)" where size is N * 4 bytes in Keras's readable form
/// ("{:.2f} {unit}" after dividing by 1024 while >= 1024).
/// </summary>
public class SummaryTests
{
    private static string[] Lines(Model model)
    {
        var w = new StringWriter();
        model.Summary(w);
        return w.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
    }

    [Fact]
    public void Summary_ListsLayersShapesParamsAndTotals()
    {
        using var model = new Sequential(
            new InputLayer([72]),
            new Dense(32, activation: "relu") { Name = "hidden" },
            new Dense(10, activation: "softmax") { Name = "probs" })
        { Name = "mlp" };
        var lines = Lines(model);
        Assert.Equal("Model: \"mlp\"", lines[0]);

        // hidden: 72 * 32 + 32 = 2336; probs: 32 * 10 + 10 = 330; total 2666 = 10664 bytes = 10.41 KB.
        int hidden = Array.FindIndex(lines, l => l.Contains("hidden (Dense)"));
        int probs = Array.FindIndex(lines, l => l.Contains("probs (Dense)"));
        Assert.True(hidden > 0 && probs > hidden, string.Join("\n", lines));
        Assert.Contains("(None, 32)", lines[hidden]);
        Assert.EndsWith("2,336 │", lines[hidden]);
        Assert.Contains("(None, 10)", lines[probs]);
        Assert.EndsWith("330 │", lines[probs]);
        Assert.DoesNotContain(lines, l => l.Contains("InputLayer")); // Keras does not list the input of a Sequential

        Assert.Contains(" Total params: 2,666 (10.41 KB)", lines);
        Assert.Contains(" Trainable params: 2,666 (10.41 KB)", lines);
        Assert.Contains(" Non-trainable params: 0 (0.00 B)", lines);
    }

    [Fact]
    public void Summary_FrozenLayer_CountsAsNonTrainable()
    {
        var probs = new Dense(10) { Name = "probs" };
        using var model = new Sequential(new InputLayer([72]), new Dense(32) { Name = "hidden" }, probs);
        probs.Trainable = false;
        var lines = Lines(model);
        // Trainable 2336 * 4 = 9344 bytes = 9.125 KB, which Python's "{:.2f}" prints as 9.12 (round half to even);
        // non-trainable 330 * 4 = 1320 bytes = 1.2890625 KB -> 1.29 KB.
        Assert.Contains(" Total params: 2,666 (10.41 KB)", lines);
        Assert.Contains(" Trainable params: 2,336 (9.12 KB)", lines);
        Assert.Contains(" Non-trainable params: 330 (1.29 KB)", lines);
    }

    [Fact]
    public void Summary_LargerModel_UsesMegabytesAndThousandsSeparators()
    {
        // 784 * 512 + 512 = 401,920; 512 * 10 + 10 = 5,130; total 407,050 params = 1,628,200 bytes = 1.5528 MB.
        using var model = new Sequential(new InputLayer([784]), new Dense(512) { Name = "wide" }, new Dense(10) { Name = "out" });
        var lines = Lines(model);
        Assert.EndsWith("401,920 │", lines[Array.FindIndex(lines, l => l.Contains("wide (Dense)"))]);
        Assert.EndsWith("5,130 │", lines[Array.FindIndex(lines, l => l.Contains("out (Dense)"))]);
        Assert.Contains(" Total params: 407,050 (1.55 MB)", lines);
    }

    [Fact]
    public void Summary_UnbuiltModel_ShowsUnknownShapesAndUnbuiltLayers()
    {
        using var model = new Sequential(new Dense(4) { Name = "lazy" });
        var lines = Lines(model);
        var row = lines.Single(l => l.Contains("lazy (Dense)"));
        Assert.Contains("?", row);
        Assert.Contains("0 (unbuilt)", row);
        Assert.Contains(" Total params: 0 (0.00 B)", lines);
    }

    [Fact]
    public void Summary_FunctionalInputLayer_ShowsZeroParams()
    {
        // Keras 3's InputLayer is built when it is made, so its row reads "0", never "0 (unbuilt)".
        var input = Keras.Input([3], name: "features");
        using var model = new Model(input, new Dense(2) { Name = "out" }.Apply(input));
        var lines = Lines(model);
        var row = lines.Single(l => l.Contains("features (InputLayer)"));
        Assert.Contains("(None, 3)", row);
        Assert.EndsWith(" 0 │", row);
        Assert.DoesNotContain("unbuilt", row);
        Assert.Contains(" Total params: 8 (32.00 B)", lines); // 3 * 2 + 2
    }

    [Fact]
    public void Summary_CustomLayerWhoseSublayersBuildAtFirstCall_CountsTheirWeights()
    {
        // Keras 3 builds a layer without its own build() by running call() when its sublayers are unbuilt, so a block
        // holding Dense(4) and BatchNormalization is fully built as soon as the model knows its input shape:
        // Dense 8 * 4 + 4 = 36 and BatchNormalization gamma + beta 4 + 4 = 8 trainable; moving mean and variance
        // 4 + 4 = 8 non-trainable. Total 52 = 208 B; trainable 44 = 176 B; non-trainable 8 = 32 B.
        using var model = new Sequential(new InputLayer([8]), new DenseNormBlock { Name = "block" });
        var lines = Lines(model);
        Assert.EndsWith(" 52 │", lines.Single(l => l.Contains("block (DenseNormBlock)")));
        Assert.Contains(" Total params: 52 (208.00 B)", lines);
        Assert.Contains(" Trainable params: 44 (176.00 B)", lines);
        Assert.Contains(" Non-trainable params: 8 (32.00 B)", lines);
    }

    [Fact]
    public void Summary_SublayerCreatedAtFirstCall_IsCountedAfterTheModelRuns()
    {
        // The block makes its Dense(4) on its first call; a summary printed before that must not hide it afterwards.
        using var model = new Sequential(new LazyDenseBlock { Name = "lazy_block" });
        Assert.Contains(" Total params: 0 (0.00 B)", Lines(model));
        model.Predict(new float[2, 8]);
        var lines = Lines(model);
        Assert.EndsWith(" 36 │", lines.Single(l => l.Contains("lazy_block (LazyDenseBlock)"))); // 8 * 4 + 4
        Assert.Contains(" Total params: 36 (144.00 B)", lines);
        Assert.Contains(" Trainable params: 36 (144.00 B)", lines);
    }

    [Fact]
    public void Summary_SublayerSharedByTwoLayers_CountsInEachRowAndOnceInTheTotals()
    {
        // One Dense(8) used by two blocks: each block's count_params includes it (8 * 8 + 8 = 72), the model's weights hold it once.
        var shared = new Dense(8) { Name = "shared" };
        using var model = new Sequential(new InputLayer([8]), new SharedDenseBlock(shared) { Name = "first" },
            new SharedDenseBlock(shared) { Name = "second" });
        var lines = Lines(model);
        Assert.EndsWith(" 72 │", lines.Single(l => l.Contains("first (SharedDenseBlock)")));
        Assert.EndsWith(" 72 │", lines.Single(l => l.Contains("second (SharedDenseBlock)")));
        Assert.Contains(" Total params: 72 (288.00 B)", lines);
        Assert.Contains(" Trainable params: 72 (288.00 B)", lines);
    }

    /// <summary>Sublayers made in the constructor and built by their first call (no Build of its own).</summary>
    private sealed class DenseNormBlock : Layer
    {
        private readonly Dense dense = new(4);
        private readonly BatchNormalization norm = new();

        public override KTensor Call(KTensor inputs, bool training = false) => norm.Apply(dense.Apply(inputs), training);

        public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(4);
    }

    /// <summary>A sublayer made on the first call.</summary>
    private sealed class LazyDenseBlock : Layer
    {
        private Dense? dense;

        public override KTensor Call(KTensor inputs, bool training = false) => (dense ??= new Dense(4)).Apply(inputs);
    }

    private sealed class SharedDenseBlock(Dense dense) : Layer
    {
        private readonly Dense dense = dense;

        public override KTensor Call(KTensor inputs, bool training = false) => dense.Apply(inputs);

        public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(8);
    }
}
