using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Every built-in layer, enumerated from the registry (a new layer fails <see cref="EveryBuiltInLayerHasACase"/> until it
/// has a case here), with default and non-default arguments, inside a functional model: <c>FromJson(ToJson())</c>,
/// <c>FromYaml(ToYaml())</c> and <c>.keras</c> reproduce the config exactly and, with the same weights, the predictions
/// bit for bit.
/// </summary>
public class EveryLayerRoundTripTests
{
    private sealed record Case(Func<Layer> Make, long[][] Inputs, double IntegerRange = 0);

    private static Case One(Func<Layer> make, params long[] input) => new(make, [input]);
    private static Case Two(Func<Layer> make, params long[] input) => new(make, [input, input]);

    private static readonly Dictionary<string, Case> Cases = new(StringComparer.Ordinal)
    {
        ["Activation"] = One(() => new Activation("tanh"), 5),
        ["Activation/custom"] = One(() => new Activation(Activations.Softsign), 5),
        ["ActivityRegularization"] = One(() => new ActivityRegularization(), 4),
        ["ActivityRegularization/args"] = One(() => new ActivityRegularization(0.01, 0.02), 4),
        ["Add"] = Two(() => new Add(), 4),
        ["AdditiveAttention"] = Two(() => new AdditiveAttention(), 3, 4),
        ["AdditiveAttention/args"] = Two(() => new AdditiveAttention(useScale: false, dropout: 0.1), 3, 4),
        ["Attention"] = Two(() => new Attention(), 3, 4),
        ["Attention/args"] = new(() => new Attention(useScale: true, scoreMode: "concat", dropout: 0.1), [[2, 4], [3, 4], [3, 4]]),
        ["EinsumDense"] = One(() => new EinsumDense("ab,bc->ac", [3], biasAxes: "c"), 4),
        ["EinsumDense/args"] = One(() => new EinsumDense("abc,cde->abde", [null, 2, 3], activation: "relu", biasAxes: "d",
            kernelRegularizer: Regularizers.L2(0.01)), 3, 4),
        ["MultiHeadAttention"] = Two(() => new MultiHeadAttention(2, 3), 3, 4),
        ["MultiHeadAttention/args"] = new(() => new MultiHeadAttention(2, 2, valueDim: 3, dropout: 0.1, useBias: false, outputShape: [5],
            attentionAxes: [1], kernelInitializer: "he_normal", seed: 3), [[2, 4], [3, 6], [3, 5]]),
        ["AlphaDropout"] = One(() => new AlphaDropout(0.2), 4),
        ["AlphaDropout/args"] = One(() => new AlphaDropout(0.1, noiseShape: new Shape(null, 1, null), seed: 5), 3, 2),
        ["Average"] = Two(() => new Average(), 4),
        ["AveragePooling1D"] = One(() => new AveragePooling1D(), 6, 2),
        ["AveragePooling1D/args"] = One(() => new AveragePooling1D(3, strides: 1, padding: "same"), 6, 2),
        ["AveragePooling2D"] = One(() => new AveragePooling2D(), 4, 4, 2),
        ["AveragePooling2D/args"] = One(() => new AveragePooling2D((2, 1), strides: 1, padding: "same"), 4, 4, 2),
        ["AveragePooling3D"] = One(() => new AveragePooling3D(), 4, 4, 2, 1),
        ["AveragePooling3D/args"] = One(() => new AveragePooling3D((2, 1, 2), strides: 1, padding: "same"), 4, 4, 2, 1),
        ["BatchNormalization"] = One(() => new BatchNormalization(), 3, 4),
        ["BatchNormalization/args"] = One(() => new BatchNormalization(axis: 1, momentum: 0.9, epsilon: 0.01, center: false), 3, 4),
        ["Bidirectional"] = One(() => new Bidirectional(new LSTM(3)), 4, 2),
        ["Bidirectional/args"] = One(() => new Bidirectional(new GRU(2, returnSequences: true), mergeMode: "sum"), 4, 2),
        ["CategoryEncoding"] = new(() => new CategoryEncoding(4), [[3]], IntegerRange: 4),
        ["CategoryEncoding/args"] = new(() => new CategoryEncoding(3, outputMode: "one_hot"), [[1]], IntegerRange: 3),
        ["Concatenate"] = Two(() => new Concatenate(), 4),
        ["Concatenate/args"] = new(() => new Concatenate(axis: 1), [[2, 3], [4, 3]]),
        ["Conv1D"] = One(() => new Conv1D(2, 3), 6, 2),
        ["Conv1D/args"] = One(() => new Conv1D(3, 2, strides: 2, padding: "same", activation: "relu", useBias: false), 6, 2),
        ["Conv1DTranspose"] = One(() => new Conv1DTranspose(2, 3), 4, 2),
        ["Conv2D"] = One(() => new Conv2D(2, 3), 5, 5, 2),
        ["Conv2D/args"] = One(() => new Conv2D(3, (2, 3), strides: (1, 2), padding: "same", activation: "elu", kernelInitializer: new HeUniform { Seed = 5 },
            biasInitializer: new Constant(0.25), kernelRegularizer: Regularizers.L1L2(0.01, 0.02)), 5, 5, 2),
        ["Conv2DTranspose"] = One(() => new Conv2DTranspose(2, 3, strides: 2, outputPadding: 1), 3, 3, 2),
        ["Conv3D"] = One(() => new Conv3D(2, 2), 3, 3, 3, 1),
        ["Conv3DTranspose"] = One(() => new Conv3DTranspose(2, (1, 2, 2), strides: (1, 2, 1)), 2, 2, 2, 1),
        ["Cropping1D"] = One(() => new Cropping1D(), 5, 2),
        ["Cropping1D/args"] = One(() => new Cropping1D((0, 2)), 5, 2),
        ["Cropping2D"] = One(() => new Cropping2D(), 4, 4, 1),
        ["Cropping2D/args"] = One(() => new Cropping2D(((1, 0), (0, 2))), 4, 4, 1),
        ["Cropping3D"] = One(() => new Cropping3D(), 4, 4, 4, 1),
        ["Cropping3D/args"] = One(() => new Cropping3D(((1, 0), (0, 2), (1, 1))), 4, 4, 4, 1),
        ["Dense"] = One(() => new Dense(3), 4),
        ["Dense/args"] = One(() => new Dense(3, activation: "gelu", useBias: false, kernelInitializer: new VarianceScaling(2.0, FanMode.FanOut, ScalingDistribution.Uniform) { Seed = 2 },
            kernelRegularizer: Regularizers.L2(0.003)), 4),
        ["Dense/constraints"] = One(() => new Dense(3, kernelConstraint: Constraints.MaxNorm(1.5), biasConstraint: Constraints.NonNeg()) { ActivityRegularizer = Regularizers.L1(0.01) }, 4),
        ["DepthwiseConv2D"] = One(() => new DepthwiseConv2D(3), 5, 5, 2),
        ["DepthwiseConv2D/args"] = One(() => new DepthwiseConv2D(2, padding: "same", depthMultiplier: 2), 5, 5, 2),
        ["Discretization"] = One(() => new Discretization(binBoundaries: [-0.5, 0, 0.5]), 4),
        ["Discretization/args"] = One(() => new Discretization(binBoundaries: [0], numBins: 2, epsilon: 0.1, outputMode: "count"), 4),
        ["Dot"] = Two(() => new Dot(1), 4),
        ["Dot/args"] = new(() => new Dot([2, 2], normalize: true), [[2, 3], [4, 3]]),
        ["Dropout"] = One(() => new Dropout(0.5), 4),
        ["Dropout/args"] = One(() => new Dropout(0.25, seed: 3), 4),
        ["ELU"] = One(() => new ELU(), 4),
        ["ELU/args"] = One(() => new ELU(0.5), 4),
        ["Embedding"] = new(() => new Embedding(7, 3), [[5]], IntegerRange: 7),
        ["Embedding/args"] = new(() => new Embedding(7, 2, embeddingsInitializer: new RandomUniform(-1, 1) { Seed = 4 }, maskZero: true), [[5]], IntegerRange: 7),
        ["Flatten"] = One(() => new Flatten(), 2, 3),
        ["GaussianDropout"] = One(() => new GaussianDropout(0.3), 4),
        ["GaussianDropout/args"] = One(() => new GaussianDropout(0.1, seed: 2), 4),
        ["GaussianNoise"] = One(() => new GaussianNoise(0.2), 4),
        ["GlobalAveragePooling1D"] = One(() => new GlobalAveragePooling1D(), 5, 2),
        ["GlobalAveragePooling1D/args"] = One(() => new GlobalAveragePooling1D(keepdims: true), 5, 2),
        ["GlobalAveragePooling2D"] = One(() => new GlobalAveragePooling2D(), 3, 3, 2),
        ["GlobalAveragePooling3D"] = One(() => new GlobalAveragePooling3D(), 2, 3, 2, 2),
        ["GlobalAveragePooling3D/args"] = One(() => new GlobalAveragePooling3D(keepdims: true), 2, 3, 2, 2),
        ["GlobalMaxPooling1D"] = One(() => new GlobalMaxPooling1D(), 5, 2),
        ["GlobalMaxPooling2D"] = One(() => new GlobalMaxPooling2D(), 3, 3, 2),
        ["GlobalMaxPooling2D/args"] = One(() => new GlobalMaxPooling2D(keepdims: true), 3, 3, 2),
        ["GlobalMaxPooling3D"] = One(() => new GlobalMaxPooling3D(), 2, 3, 2, 2),
        ["GlobalMaxPooling3D/args"] = One(() => new GlobalMaxPooling3D(keepdims: true), 2, 3, 2, 2),
        ["GroupNormalization"] = One(() => new GroupNormalization(2), 3, 4),
        ["GroupNormalization/args"] = One(() => new GroupNormalization(-1, axis: 1, epsilon: 0.01, center: false,
            gammaRegularizer: Regularizers.L2(0.01)), 3, 4),
        ["GRU"] = One(() => new GRU(3), 4, 2),
        ["GRU/args"] = One(() => new GRU(2, activation: "relu", returnSequences: true, resetAfter: false), 4, 2),
        ["Hashing"] = new(() => new Hashing(5), [[3]], IntegerRange: 40),
        ["Hashing/args"] = new(() => new Hashing(4, maskValue: 0L, salt: [7, 9], outputMode: "count"), [[3]], IntegerRange: 40),
        ["Identity"] = One(() => new Identity(), 4),
        ["IntegerLookup"] = new(() => new IntegerLookup(vocabulary: [1, 3, 5]), [[3]], IntegerRange: 6),
        ["IntegerLookup/args"] = new(() => new IntegerLookup(maxTokens: 6, numOovIndices: 2, maskToken: 0, vocabulary: [1, 2],
            outputMode: "count", padToMaxTokens: true), [[4]], IntegerRange: 5),
        ["Lambda"] = One(() => new Lambda(OnnxKeras.Tests.Layers.LambdaTests.ConcatSquare), 3, 2),
        ["Lambda/args"] = One(() => new Lambda(Activations.Tanh, outputShape: new Shape(4)), 4),
        ["LayerNormalization"] = One(() => new LayerNormalization(), 3, 4),
        ["LayerNormalization/args"] = One(() => new LayerNormalization([1, 2], epsilon: 0.01, scale: false), 3, 4),
        ["LeakyReLU"] = One(() => new LeakyReLU(), 4),
        ["LeakyReLU/args"] = One(() => new LeakyReLU(0.05), 4),
        ["LSTM"] = One(() => new LSTM(3), 4, 2),
        ["LSTM/args"] = One(() => new LSTM(2, recurrentActivation: "hard_sigmoid", returnSequences: true, goBackwards: true), 4, 2),
        ["Masking"] = One(() => new Masking(), 3, 2),
        ["Masking/args"] = One(() => new Masking(-1.5), 3, 2),
        ["Maximum"] = Two(() => new Maximum(), 4),
        ["MaxPooling1D"] = One(() => new MaxPooling1D(), 6, 2),
        ["MaxPooling2D"] = One(() => new MaxPooling2D(), 4, 4, 2),
        ["MaxPooling2D/args"] = One(() => new MaxPooling2D(3, strides: 1, padding: "same"), 4, 4, 2),
        ["MaxPooling3D"] = One(() => new MaxPooling3D(), 4, 4, 2, 1),
        ["MaxPooling3D/args"] = One(() => new MaxPooling3D(3, strides: 1, padding: "same"), 4, 4, 2, 1),
        ["Minimum"] = Two(() => new Minimum(), 4),
        ["Multiply"] = Two(() => new Multiply(), 4),
        ["Permute"] = One(() => new Permute([2, 1]), 3, 4),
        ["PReLU"] = One(() => new PReLU(), 3, 4),
        ["PReLU/args"] = One(() => new PReLU(new Constant(0.1), sharedAxes: [1]), 3, 4),
        ["ReLU"] = One(() => new ReLU(), 4),
        ["ReLU/args"] = One(() => new ReLU(6.0, negativeSlope: 0.1, threshold: 0.2), 4),
        ["RepeatVector"] = One(() => new RepeatVector(3), 4),
        ["Rescaling"] = One(() => new Rescaling(0.5), 4),
        ["Rescaling/args"] = One(() => new Rescaling(2.0, offset: -1.0), 4),
        ["Resizing"] = One(() => new Resizing(3, 5), 4, 6, 2),
        ["Resizing/args"] = One(() => new Resizing(4, 4, "nearest", padToAspectRatio: true, fillValue: 0.5), 4, 6, 2),
        ["CenterCrop"] = One(() => new CenterCrop(2, 3), 4, 6, 2),
        ["RandomFlip"] = One(() => new RandomFlip(), 4, 4, 2),
        ["RandomFlip/args"] = One(() => new RandomFlip("vertical", seed: 3), 4, 4, 2),
        ["RandomRotation"] = One(() => new RandomRotation(0.2), 4, 4, 2),
        ["RandomRotation/args"] = One(() => new RandomRotation([-0.1, 0.3], "constant", "nearest", seed: 4, fillValue: 0.5), 4, 4, 2),
        ["RandomZoom"] = One(() => new RandomZoom(0.2), 4, 4, 2),
        ["RandomZoom/args"] = One(() => new RandomZoom([-0.3, 0.1], [0.2], "wrap", "nearest", seed: 5, fillValue: 1), 4, 4, 2),
        ["RandomTranslation"] = One(() => new RandomTranslation(0.1, 0.2), 4, 4, 2),
        ["RandomTranslation/args"] = One(() => new RandomTranslation([0.1, -0.2], [0.3], "nearest", seed: 6), 4, 4, 2),
        ["RandomContrast"] = One(() => new RandomContrast(0.3), 4, 4, 2),
        ["RandomContrast/args"] = One(() => new RandomContrast([0.2, 0.4], valueRange: [0, 1], seed: 7), 4, 4, 2),
        ["Normalization"] = One(() => new Normalization(), 4),
        ["Normalization/args"] = One(() => new Normalization(mean: [1, 2, 3, 4], variance: [1, 4, 9, 16], invert: true), 4),
        ["Normalization/axes"] = One(() => new Normalization(axis: [1, 2]), 3, 4),
        ["Reshape"] = One(() => new Reshape([2, 6]), 3, 4),
        ["SeparableConv2D"] = One(() => new SeparableConv2D(3, 2), 4, 4, 2),
        ["SimpleRNN"] = One(() => new SimpleRNN(3), 4, 2),
        ["SimpleRNN/args"] = One(() => new SimpleRNN(2, activation: "sigmoid", useBias: false, returnSequences: true), 4, 2),
        ["Softmax"] = One(() => new Softmax(), 3, 4),
        ["Softmax/args"] = One(() => new Softmax([1, 2]), 3, 4),
        ["SpatialDropout2D"] = One(() => new SpatialDropout2D(0.3), 3, 3, 2),
        ["Subtract"] = Two(() => new Subtract(), 4),
        ["TimeDistributed"] = One(() => new TimeDistributed(new Dense(3)), 4, 2),
        ["TimeDistributed/args"] = One(() => new TimeDistributed(new Conv2D(2, 2, activation: "relu")), 3, 4, 4, 1),
        ["UnitNormalization"] = One(() => new UnitNormalization(), 3, 4),
        ["UnitNormalization/args"] = One(() => new UnitNormalization([1, 2]), 3, 4),
        ["UpSampling1D"] = One(() => new UpSampling1D(), 3, 2),
        ["UpSampling1D/args"] = One(() => new UpSampling1D(3), 3, 2),
        ["UpSampling2D"] = One(() => new UpSampling2D(), 2, 2, 1),
        ["UpSampling2D/args"] = One(() => new UpSampling2D((2, 3), interpolation: "bilinear"), 2, 2, 1),
        ["UpSampling3D"] = One(() => new UpSampling3D(), 2, 2, 1, 1),
        ["UpSampling3D/args"] = One(() => new UpSampling3D((1, 2, 3)), 2, 2, 1, 1),
        ["ZeroPadding1D"] = One(() => new ZeroPadding1D(), 3, 2),
        ["ZeroPadding1D/args"] = One(() => new ZeroPadding1D((2, 0)), 3, 2),
        ["ZeroPadding2D"] = One(() => new ZeroPadding2D(), 2, 2, 1),
        ["ZeroPadding2D/args"] = One(() => new ZeroPadding2D(((1, 0), (2, 1))), 2, 2, 1),
        ["ZeroPadding3D"] = One(() => new ZeroPadding3D(), 2, 2, 1, 1),
        ["ZeroPadding3D/args"] = One(() => new ZeroPadding3D(((1, 0), (0, 2), (1, 1))), 2, 2, 1, 1),
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void EveryBuiltInLayerHasACase()
    {
        // InputLayer is in every case's model; Sequential and Model are in the nested-model tests.
        // The string layers run in .NET before the model (tensors hold no strings); StringLayerTests round-trips them.
        var covered = Cases.Keys.Select(k => k.Split('/')[0]).Concat(["StringLookup", "TextVectorization"]).ToHashSet();
        var missing = KerasObjects.BuiltInClasses("layer").Where(t => !typeof(Model).IsAssignableFrom(t) && t != typeof(InputLayer))
            .Select(t => t.Name).Where(n => !covered.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"Add a round-trip case for: {string.Join(", ", missing)}");
        Assert.Contains("Dense", KerasObjects.BuiltInClasses("layer").Select(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void LayerRoundTripsThroughJsonYamlAndKeras(string name)
    {
        Keras.SetRandomSeed(11);
        var c = Cases[name];
        var inputs = c.Inputs.Select((s, i) => Keras.Input(new Shape(s.Select(d => (long?)d).ToArray()), name: $"in{i}")).ToList();
        var layer = c.Make();
        var outputs = layer.ApplyMany(inputs);
        using var model = new Model(inputs, [outputs[0]], "case");
        var x = c.Inputs.Select((s, i) => Input(s, 20 + i, c.IntegerRange)).ToList();
        AssertRoundTrips(model, x);

        // The same config with a key the layer does not take is refused, naming the class, the layer and the key.
        var tree = (Dictionary<string, object?>)ModelConfig.ParseJson(model.ToJson())!;
        var entry = ((List<object?>)((Dictionary<string, object?>)tree["config"]!)["layers"]!).Cast<Dictionary<string, object?>>().Single(l => (string?)l["name"] == layer.Name);
        ((Dictionary<string, object?>)entry["config"]!)["bogus_key"] = "x";
        var e = Assert.Throws<InvalidDataException>(() => Model.FromJson(ConfigJson.Write(tree)));
        Assert.Equal($"Unrecognized keyword arguments passed to {layer.GetType().Name} (layer '{layer.Name}'): {{'bogus_key': 'x'}}", e.Message);
    }

    /// <summary>
    /// The three round trips of <paramref name="model"/>: config text equal key for key, and predictions on
    /// <paramref name="x"/> (one array per input) equal bit for bit once the rebuilt model has the same weights.
    /// </summary>
    internal static void AssertRoundTrips(Model model, IReadOnlyList<Array> x, CustomObjects? custom = null)
    {
        string json = model.ToJson(), yaml = model.ToYaml();
        var expected = Predict(model, x);
        using (var fromJson = Model.FromJson(json, custom))
        {
            Assert.Equal(json, fromJson.ToJson());
            CopyWeights(model, fromJson);
            Assert.Equal(expected, Predict(fromJson, x));
        }
        using (var fromYaml = Model.FromYaml(yaml, custom))
        {
            Assert.Equal(yaml, fromYaml.ToYaml());
            CopyWeights(model, fromYaml);
            Assert.Equal(expected, Predict(fromYaml, x));
        }
        using var dir = NewTempDir();
        var path = dir.File("model.keras");
        model.Save(path);
        using var loaded = Model.LoadModel(path, custom);
        Assert.Equal(json, loaded.ToJson());
        Assert.Equal(expected, Predict(loaded, x));
    }

    private static float[] Predict(Model model, IReadOnlyList<Array> x) => x.Count == 1
        ? model.Predict(x[0]).Data.ToArray()
        : model.Predict(Enumerable.Range(0, x.Count).ToDictionary(i => model.InputNames[i], i => x[i])).Values.Single().Data.ToArray();

    private static Array Input(long[] shape, int seed, double integerRange)
    {
        var full = new long[] { 3 }.Concat(shape).ToArray();
        var a = Random(seed, full);
        if (integerRange <= 0) return a;
        var ints = a.Cast<float>().Select(v => (float)Math.Floor((v + 1) / 2 * integerRange)).ToArray(); // [-1, 1) -> 0 .. range-1
        return ToArray(ints, full);
    }
}
