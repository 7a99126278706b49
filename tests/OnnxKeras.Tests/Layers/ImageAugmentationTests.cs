using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Export;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// The random image layers against Keras 3 (keras/src/layers/preprocessing/image_preprocessing/random_*.py and the
/// backends' affine_transform / map_coordinates): identities at inference (and absent from the ONNX export), and in
/// training transforms checked against hand-built expectations: a flip reverses an axis exactly, a rotation fixed at a
/// quarter turn is a transpose plus a flip, a translation fixed at one row shows each fill mode's border, a fixed zoom is
/// bilinear sampling at <c>z (x - c) + c</c>, contrast is <c>(x - mean) c + mean</c> clipped.
/// </summary>
public class ImageAugmentationTests
{
    private static Layer[] All() =>
    [
        new RandomFlip(seed: 1), new RandomRotation(0.2, seed: 2), new RandomZoom(0.3, -0.2, seed: 3),
        new RandomTranslation([0.2], [-0.1, 0.3], seed: 4), new RandomContrast(0.5, valueRange: [0, 1], seed: 5),
    ];

    // ------------------------------------------------------------------ harness: config round trip, shapes, ONNX (identity)

    [Fact]
    public void Harness_EveryLayer()
    {
        foreach (var layer in All()) LayerTestHarness.Run(layer, [5, 6, 2], [5, 6, 2], 0, 0, supportsTraining: false);
        LayerTestHarness.Run(new RandomZoom([-0.4, 0.1], fillMode: "constant", interpolation: "nearest", fillValue: 0.5), [4, 4, 1], [4, 4, 1], 0, 0,
            supportsTraining: false);
        LayerTestHarness.Run(new RandomFlip("vertical"), [3, 3, 3], [3, 3, 3], 0, 0, supportsTraining: false);
    }

    [Fact]
    public void Inference_IsTheIdentity()
    {
        using var scope = NewDisposeScope();
        var x = rand(2, 5, 6, 3);
        foreach (var layer in All()) Assert.Equal(FamilyTestUtil.Values(x), FamilyTestUtil.Values(layer.Apply(x, training: false)));
    }

    [Fact]
    public void Configs_KeepKerasKeysAndFactorRules()
    {
        // Keras 3 stores RandomRotation's and RandomContrast's factor as the (lower, upper) pair; a single number f gives
        // (-f, f) for rotation and (max(-f, 0), f) = (0, f) for contrast (its factor bounds are [0, 1]).
        Assert.Equal([-0.2, 0.2], new RandomRotation(0.2).Factor);
        Assert.Equal([0.0, 0.3], new RandomContrast(0.3).Factor);
        Assert.Equal([-0.5, 0.5], new RandomContrast([0.5, -0.5]).Factor);
        var zoom = new RandomZoom(0.3).GetConfig();
        Assert.Equal(0.3, zoom["height_factor"]);
        Assert.Null(zoom["width_factor"]);
        Assert.Equal("reflect", zoom["fill_mode"]);
        var rebuilt = (RandomTranslation)LayerRegistry.FromConfig(typeof(RandomTranslation), new RandomTranslation([0.3, -0.1], [0.2], seed: 9).GetConfig());
        Assert.Equal([0.3, -0.1], rebuilt.HeightFactor);
        Assert.Equal(9, rebuilt.Seed);
    }

    [Fact]
    public void BadArgumentsAreRefusedByName()
    {
        Assert.Contains("mode", Assert.Throws<ArgumentException>(() => new RandomFlip("diagonal")).Message);
        Assert.Contains("factor", Assert.Throws<ArgumentException>(() => new RandomRotation(1.5)).Message);
        Assert.Contains("fillMode", Assert.Throws<ArgumentException>(() => new RandomRotation(0.1, fillMode: "mirror")).Message);
        Assert.Contains("interpolation", Assert.Throws<ArgumentException>(() => new RandomZoom(0.1, interpolation: "bicubic")).Message);
        Assert.Contains("heightFactor", Assert.Throws<ArgumentException>(() => new RandomTranslation([0.1, 1.2], [0.1])).Message);
        Assert.Contains("factor", Assert.Throws<ArgumentException>(() => new RandomContrast(-0.1)).Message);
        Assert.Contains("valueRange", Assert.Throws<ArgumentException>(() => new RandomContrast(0.1, valueRange: [1, 0])).Message);
        Assert.Contains("channels_first", Assert.Throws<ArgumentException>(() => new RandomFlip(dataFormat: "channels_first")).Message);
    }

    [Fact]
    public void KerasWrittenConfigsLoad()
    {
        // Each layer's get_config() as Keras 3 writes it (keras/src/layers/preprocessing/image_preprocessing/*.py), in a Sequential.
        const string policy = """{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}""";
        static string Layer(string cls, string name, string config) =>
            $$$"""{"module": "keras.layers", "class_name": "{{{cls}}}", "config": {"name": "{{{name}}}", "trainable": true, "dtype": {{{policy}}}, {{{config}}}}, "registered_name": null}""";
        string json = $$$"""
            {"module": "keras", "class_name": "Sequential", "config": {"name": "sequential", "trainable": true, "dtype": {{{policy}}}, "layers": [
              {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 8, 10, 3], "dtype": "float32", "sparse": false, "name": "input_layer"}, "registered_name": null},
              {{{Layer("Resizing", "resizing", "\"height\": 6, \"width\": 6, \"interpolation\": \"bilinear\", \"crop_to_aspect_ratio\": true, \"pad_to_aspect_ratio\": false, \"fill_mode\": \"constant\", \"fill_value\": 0.0, \"data_format\": \"channels_last\"")}}},
              {{{Layer("CenterCrop", "center_crop", "\"height\": 4, \"width\": 4, \"data_format\": \"channels_last\"")}}},
              {{{Layer("RandomFlip", "random_flip", "\"seed\": null, \"mode\": \"horizontal\", \"data_format\": \"channels_last\"")}}},
              {{{Layer("RandomRotation", "random_rotation", "\"factor\": [-0.1, 0.1], \"data_format\": \"channels_last\", \"fill_mode\": \"reflect\", \"fill_value\": 0.0, \"interpolation\": \"bilinear\", \"seed\": 3")}}},
              {{{Layer("RandomZoom", "random_zoom", "\"height_factor\": 0.2, \"width_factor\": null, \"fill_mode\": \"reflect\", \"interpolation\": \"bilinear\", \"seed\": null, \"fill_value\": 0.0, \"data_format\": \"channels_last\"")}}},
              {{{Layer("RandomTranslation", "random_translation", "\"height_factor\": [-0.2, 0.1], \"width_factor\": 0.1, \"fill_mode\": \"nearest\", \"interpolation\": \"nearest\", \"seed\": 5, \"fill_value\": 0.0, \"data_format\": \"channels_last\"")}}},
              {{{Layer("RandomContrast", "random_contrast", "\"factor\": [0.0, 0.2], \"value_range\": [0, 255], \"seed\": null")}}}
            ]}, "registered_name": null}
            """;
        using var model = Model.FromJson(json);
        Assert.Equal([1L, 4, 4, 3], model.Predict(new float[1, 8, 10, 3]).Shape);
        var rotation = model.Layers.OfType<RandomRotation>().Single();
        Assert.Equal([-0.1, 0.1], rotation.Factor);
        Assert.Equal(3, rotation.Seed);
        Assert.Null(model.Layers.OfType<RandomZoom>().Single().WidthFactor);
        Assert.Equal([-0.2, 0.1], model.Layers.OfType<RandomTranslation>().Single().HeightFactor);
        Assert.Equal([0.0, 0.2], model.Layers.OfType<RandomContrast>().Single().Factor);
        Assert.True(model.Layers.OfType<Resizing>().Single().CropToAspectRatio);
    }

    // ------------------------------------------------------------------ training transforms

    [Theory]
    [InlineData("horizontal")]
    [InlineData("vertical")]
    [InlineData("horizontal_and_vertical")]
    public void Flip_ReversesTheAxesOfSomeImagesAndLeavesTheRest(string mode)
    {
        using var scope = NewDisposeScope();
        const int n = 16, h = 3, w = 4;
        var x = rand(n, h, w, 2);
        var y = new RandomFlip(mode, seed: 7).Apply(x, training: true).Value;
        int flipped = 0;
        for (int b = 0; b < n; b++)
        {
            var image = x[b];
            var reversed = mode switch { "horizontal" => image.flip(1), "vertical" => image.flip(0), _ => image.flip(0, 1) };
            var actual = FamilyTestUtil.Values(y[b]);
            if (actual.SequenceEqual(FamilyTestUtil.Values(reversed))) flipped++;
            else Assert.Equal(FamilyTestUtil.Values(image), actual);
        }
        Assert.InRange(flipped, 1, n - 1); // 16 fair coins: all alike has probability 2^-15
    }

    [Theory]
    [InlineData("bilinear")]
    [InlineData("nearest")]
    public void Rotation_QuarterTurnOfASquareImage_IsTransposeThenVerticalFlip(string interpolation)
    {
        // factor (0.25, 0.25): angle pi / 2 for every image; output (x, y) reads input (N - 1 - y, x), i.e. out[r, c] = in[c, N - 1 - r].
        using var scope = NewDisposeScope();
        const int size = 5;
        var x = rand(2, size, size, 3);
        var y = new RandomRotation([0.25, 0.25], fillMode: "constant", interpolation: interpolation, seed: 1).Apply(x, training: true);
        var expected = x.transpose(1, 2).flip(1);
        Near(FamilyTestUtil.Values(expected), FamilyTestUtil.Values(y));
    }

    [Fact]
    public void Rotation_HalfTurnOfARectangle_ReversesBothAxes()
    {
        using var scope = NewDisposeScope();
        var x = rand(3, 4, 7, 2);
        var y = new RandomRotation([0.5, 0.5], seed: 2).Apply(x, training: true);
        Near(FamilyTestUtil.Values(x.flip(1, 2)), FamilyTestUtil.Values(y));
    }

    [Theory]
    [InlineData("constant", new[] { -1, -1, 0, 1 })]  // -1: the fill value
    [InlineData("nearest", new[] { 0, 0, 0, 1 })]      // (a a | a b c d)
    [InlineData("reflect", new[] { 1, 0, 0, 1 })]      // (b a | a b c d)
    [InlineData("wrap", new[] { 2, 3, 0, 1 })]         // (c d | a b c d)
    public void Translation_ByTwoRows_FillsTheTopByTheFillMode(string fillMode, int[] sourceRows)
    {
        // height_factor (0.5, 0.5) on 4 rows: dy = 2, so output row r reads input row r - 2; rows -2 and -1 by the fill mode.
        using var scope = NewDisposeScope();
        var x = rand(2, 4, 3, 2);
        var y = FamilyTestUtil.Values(new RandomTranslation([0.5, 0.5], [0.0, 0.0], fillMode, fillValue: -3, seed: 1).Apply(x, training: true));
        var xs = FamilyTestUtil.Values(x);
        for (int b = 0; b < 2; b++)
            for (int r = 0; r < 4; r++)
                for (int k = 0; k < 6; k++)
                {
                    float expected = sourceRows[r] < 0 ? -3f : xs[(b * 4 + sourceRows[r]) * 6 + k];
                    Assert.Equal(expected, y[(b * 4 + r) * 6 + k], 1e-6f);
                }
    }

    [Fact]
    public void Zoom_FixedAtOneHalf_SamplesBilinearlyAroundTheCentre()
    {
        // height_factor (-0.5, -0.5) and no width factor: zx = zy = 0.5; centre 2 of 5, so output (x, y) reads (0.5 x + 1, 0.5 y + 1).
        using var scope = NewDisposeScope();
        const int size = 5;
        var x = rand(1, size, size, 1);
        var xs = FamilyTestUtil.Values(x);
        var y = FamilyTestUtil.Values(new RandomZoom([-0.5, -0.5], seed: 3).Apply(x, training: true));
        for (int r = 0; r < size; r++)
            for (int c = 0; c < size; c++)
            {
                double sy = 0.5 * r + 1, sx = 0.5 * c + 1;
                int y0 = (int)Math.Floor(sy), x0 = (int)Math.Floor(sx), y1 = Math.Min(y0 + 1, size - 1), x1 = Math.Min(x0 + 1, size - 1);
                double ty = sy - y0, tx = sx - x0;
                double top = xs[y0 * size + x0] * (1 - tx) + xs[y0 * size + x1] * tx, bottom = xs[y1 * size + x0] * (1 - tx) + xs[y1 * size + x1] * tx;
                Assert.Equal(top * (1 - ty) + bottom * ty, y[r * size + c], 1e-5);
            }
    }

    [Fact]
    public void Contrast_FixedFactor_IsTheKerasFormulaClipped()
    {
        // factor (-0.5, 0.5): Keras draws from [1 - lower, 1 + upper] = [1.5, 1.5]. Per image and channel: (x - mean) * 1.5 + mean, clipped to [0, 1].
        using var scope = NewDisposeScope();
        const int n = 2, h = 3, w = 4, c = 2;
        var x = rand(n, h, w, c);
        var xs = FamilyTestUtil.Values(x);
        var y = FamilyTestUtil.Values(new RandomContrast([-0.5, 0.5], valueRange: [0, 1], seed: 1).Apply(x, training: true));
        for (int b = 0; b < n; b++)
            for (int k = 0; k < c; k++)
            {
                double mean = 0;
                for (int p = 0; p < h * w; p++) mean += xs[(b * h * w + p) * c + k] / (h * w);
                for (int p = 0; p < h * w; p++)
                {
                    int i = (b * h * w + p) * c + k;
                    Assert.Equal(Math.Clamp((xs[i] - mean) * 1.5 + mean, 0, 1), y[i], 1e-5);
                }
            }
    }

    [Fact]
    public void Contrast_RandomFactor_IsOnePerImageWithinItsRange()
    {
        // factor (0.3, 0.3): one c per image in [0.7, 1.3], the same for every channel; value range wide so nothing is clipped.
        using var scope = NewDisposeScope();
        var x = rand(8, 4, 4, 3);
        var y = new RandomContrast([0.3, 0.3], valueRange: [-10, 10], seed: 4).Apply(x, training: true).Value;
        var factors = new List<double>();
        for (int b = 0; b < 8; b++)
        {
            var mean = x[b].mean([0, 1], keepdim: true);
            var ratio = FamilyTestUtil.Values((y[b] - mean) / (x[b] - mean));
            Assert.All(ratio, r => Assert.Equal(ratio[0], r, 1e-3));
            Assert.InRange(ratio[0], 0.7 - 1e-5, 1.3 + 1e-5);
            factors.Add(ratio[0]);
        }
        Assert.True(factors.Max() - factors.Min() > 1e-3, "every image got the same factor");
    }

    [Fact]
    public void Seed_MakesTheTransformsReproducible()
    {
        using var scope = NewDisposeScope();
        var x = rand(4, 6, 6, 1);
        foreach (var make in new Func<Layer>[] { () => new RandomRotation(0.3, seed: 8), () => new RandomZoom(0.4, seed: 8), () => new RandomTranslation(0.3, 0.3, seed: 8) })
        {
            var a = make();
            var first = FamilyTestUtil.Values(a.Apply(x, training: true));
            Assert.Equal(first, FamilyTestUtil.Values(make().Apply(x, training: true)));
            Assert.NotEqual(first, FamilyTestUtil.Values(a.Apply(x, training: true))); // the stream moves on
            Assert.NotEqual(FamilyTestUtil.Values(x), first);
        }
    }

    // ------------------------------------------------------------------ in a trained model: gone from the export

    [Fact]
    public void TrainedModel_ExportsWithoutTheAugmentationLayers_AndMatchesPredict()
    {
        Keras.SetRandomSeed(3);
        var input = Keras.Input([6, 6, 1]);
        KTensor h = input;
        foreach (var layer in new Layer[]
        {
            new RandomFlip(seed: 1), new RandomRotation(0.1, seed: 2), new RandomZoom(0.1, seed: 3), new RandomTranslation(0.1, 0.1, seed: 4),
            new RandomContrast(0.2, valueRange: [0, 1], seed: 5),
        })
            h = layer.Apply(h);
        using var model = new Model(input, new Dense(2).Apply(new Flatten().Apply(h)));
        model.Compile(optimizer: new SGD(0.1), loss: "mse");
        var xs = new float[8, 6, 6, 1];
        var ys = new float[8, 2];
        var random = new Random(1);
        for (int i = 0; i < 8; i++)
        {
            for (int r = 0; r < 6; r++)
                for (int c = 0; c < 6; c++) xs[i, r, c, 0] = (float)random.NextDouble();
            ys[i, i % 2] = 1;
        }
        model.Fit(xs, ys, epochs: 2, batchSize: 4, verbose: 0);

        var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = 18 });
        var graph = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        var names = graph.Node.SelectMany(n => n.Input.Concat(n.Output).Append(n.Name)).Concat(graph.Initializer.Select(i => i.Name));
        Assert.DoesNotContain(names, s => s.Contains("random", StringComparison.OrdinalIgnoreCase));
        // The same nodes as the model without the augmentation layers.
        var plainInput = Keras.Input([6, 6, 1]);
        using var plain = new Model(plainInput, new Dense(2).Apply(new Flatten().Apply(plainInput)));
        var plainGraph = Onnx.ModelProto.Parser.ParseFrom(plain.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = 18 })).Graph;
        Assert.Equal(plainGraph.Node.Select(n => n.OpType), graph.Node.Select(n => n.OpType));
        using var scope = NewDisposeScope();
        OnnxTestHelpers.AssertParityOn(model, bytes, rand(3, 6, 6, 1));
    }

    private static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"[{i}]: expected {expected[i]}, got {actual[i]}");
    }
}
