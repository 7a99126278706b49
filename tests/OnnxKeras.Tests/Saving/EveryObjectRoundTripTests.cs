using OnnxKeras.Layers;
using OnnxKeras.Losses;
using OnnxKeras.Metrics;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Saving;
using Xunit;
using static OnnxKeras.Tests.Saving.SavingTestHelpers;

namespace OnnxKeras.Tests.Saving;

/// <summary>
/// Every built-in activation, initializer, regularizer, loss, metric, optimizer and learning-rate schedule, enumerated
/// from the registry (<see cref="KerasObjects.BuiltInNames"/> and <see cref="KerasObjects.BuiltInClasses"/>), by name and
/// as an object with default and non-default arguments: the model's config (JSON, YAML, .keras) or its compile_config
/// comes back key for key, and predictions are equal bit for bit.
/// </summary>
public class EveryObjectRoundTripTests
{
    /// <summary>An instance of <paramref name="type"/> from its longest public constructor with every argument at its default.</summary>
    private static object WithDefaults(Type type)
    {
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        return ctor.Invoke([.. ctor.GetParameters().Select(p => p.DefaultValue)]);
    }

    private static Model DenseModel(Func<Dense> make)
    {
        Keras.SetRandomSeed(5);
        var input = Keras.Input([4], name: "x");
        return new Model(input, make().Apply(input), "m");
    }

    public static TheoryData<string> ActivationNames => [.. KerasObjects.BuiltInNames("activation")];

    [Theory]
    [MemberData(nameof(ActivationNames))]
    public void EveryActivationRoundTrips(string name)
    {
        using var model = DenseModel(() => new Dense(3, activation: name));
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(1, 2, 4)]);
    }

    public static TheoryData<string> InitializerNames => [.. KerasObjects.BuiltInNames("initializer")];

    [Theory]
    [MemberData(nameof(InitializerNames))]
    public void EveryInitializerNameRoundTrips(string name)
    {
        using var model = DenseModel(() => new Dense(4, kernelInitializer: name, biasInitializer: name is "identity" or "orthogonal" ? "zeros" : name)); // both need rank-2 shapes
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(2, 2, 4)]);
    }

    /// <summary>Each initializer class with default arguments and seed 3, and those with arguments with non-default ones.</summary>
    public static TheoryData<string> InitializerClasses => [.. KerasObjects.BuiltInClasses("initializer").Select(t => t.Name)];

    private static readonly Dictionary<string, Func<Initializer>> NonDefaultInitializers = new(StringComparer.Ordinal)
    {
        ["Constant"] = () => new Constant(0.7),
        ["RandomUniform"] = () => new RandomUniform(-0.2, 0.3) { Seed = 9 },
        ["RandomNormal"] = () => new RandomNormal(0.1, 0.2) { Seed = 9 },
        ["TruncatedNormalInitializer"] = () => new TruncatedNormalInitializer(-0.1, 0.3) { Seed = 9 },
        ["VarianceScaling"] = () => new VarianceScaling(0.5, FanMode.FanAvg, ScalingDistribution.UntruncatedNormal) { Seed = 9 },
        ["Orthogonal"] = () => new Orthogonal(0.5) { Seed = 9 },
        ["IdentityInitializer"] = () => new IdentityInitializer(2.0),
    };

    [Theory]
    [MemberData(nameof(InitializerClasses))]
    public void EveryInitializerClassRoundTrips(string className)
    {
        var type = KerasObjects.BuiltInClasses("initializer").Single(t => t.Name == className);
        var defaults = (Initializer)WithDefaults(type);
        var seeded = (Initializer)WithDefaults(type);
        typeof(Initializer).GetProperty(nameof(Initializer.Seed))!.SetValue(seeded, 3L);
        foreach (var init in new[] { defaults, seeded }.Concat(NonDefaultInitializers.TryGetValue(className, out var make) ? [make()] : []))
        {
            using var model = DenseModel(() => new Dense(4, kernelInitializer: init));
            EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(3, 2, 4)]);
            // A seeded initializer gives the same kernel when rebuilt (Keras: a seeded initializer is deterministic).
            using var rebuilt = Model.FromJson(model.ToJson());
            if (init.Seed is not null || init is Constant or IdentityInitializer or Zeros or Ones)
                Assert.Equal(model.Weights[0].ToArray(), rebuilt.Weights[0].ToArray());
        }
    }

    public static TheoryData<string> Regularizers =>
    [
        .. KerasObjects.BuiltInNames("regularizer"),
        .. KerasObjects.BuiltInClasses("regularizer").Select(t => t.Name),
        "L1Regularizer/args", "L2Regularizer/args", "L1L2Regularizer/args",
    ];

    [Theory]
    [MemberData(nameof(Regularizers))]
    public void EveryRegularizerRoundTrips(string name)
    {
        Regularizer reg = name switch
        {
            "L1Regularizer/args" => new L1Regularizer(0.2),
            "L2Regularizer/args" => new L2Regularizer(0.003),
            "L1L2Regularizer/args" => new L1L2Regularizer(0.1, 0.05),
            _ when KerasObjects.BuiltInClasses("regularizer").FirstOrDefault(t => t.Name == name) is { } t => (Regularizer)WithDefaults(t),
            _ => name,
        };
        using var model = DenseModel(() => new Dense(3, kernelRegularizer: reg, biasRegularizer: reg));
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(4, 2, 4)]);
        using var rebuilt = Model.FromJson(model.ToJson());
        CopyWeights(model, rebuilt);
        Assert.Equal(model.Losses.Select(l => l.Value.item<float>()), rebuilt.Losses.Select(l => l.Value.item<float>()));
    }

    public static TheoryData<string> Constraints => [.. KerasObjects.BuiltInNames("constraint"), .. KerasObjects.BuiltInClasses("constraint").Select(t => t.Name), "MaxNormConstraint/args", "MinMaxNormConstraint/args", "UnitNormConstraint/args"];

    [Theory]
    [MemberData(nameof(Constraints))]
    public void EveryConstraintRoundTrips(string name)
    {
        Constraint constraint = name switch
        {
            "MaxNormConstraint/args" => new MaxNormConstraint(0.5, [0]),
            "MinMaxNormConstraint/args" => new MinMaxNormConstraint(0.1, 0.9, 0.5, [0]),
            "UnitNormConstraint/args" => new UnitNormConstraint([1]),
            _ when KerasObjects.BuiltInClasses("constraint").FirstOrDefault(t => t.Name == name) is { } t => (Constraint)WithDefaults(t),
            _ => name,
        };
        using var model = DenseModel(() => new Dense(3, kernelConstraint: constraint));
        EveryLayerRoundTripTests.AssertRoundTrips(model, [Random(8, 2, 4)]);
        using var rebuilt = Model.FromJson(model.ToJson());
        Assert.Equal(constraint.GetType(), rebuilt.Layers.OfType<Dense>().Single().KernelConstraint!.GetType());
    }

    /// <summary>Compiles, saves as .keras and loads; the loaded model's compile_config equals the original's.</summary>
    private static void AssertCompileRoundTrips(Optimizer? optimizer, Loss loss, IEnumerable<Metric>? metrics = null)
    {
        using var model = DenseModel(() => new Dense(3, activation: "softmax"));
        model.Compile(optimizer ?? new Adam(), loss, metrics);
        var expected = ConfigJson.Write(CompileConfig.Serialize(model));
        using var dir = NewTempDir();
        model.Save(dir.File("m.keras"));
        using var loaded = Model.LoadModel(dir.File("m.keras"));
        Assert.True(loaded.IsCompiled, "the compile_config was not applied");
        Assert.Equal(expected, ConfigJson.Write(CompileConfig.Serialize(loaded)));
        Assert.Equal(model.Optimizer.GetType(), loaded.Optimizer.GetType());
        Assert.Equal(model.Loss.GetType(), loaded.Loss.GetType());
    }

    public static TheoryData<string> LossNames => [.. KerasObjects.BuiltInNames("loss")];

    [Theory]
    [MemberData(nameof(LossNames))]
    public void EveryLossNameRoundTrips(string name) => AssertCompileRoundTrips(null, name);

    public static TheoryData<string> LossClasses => [.. KerasObjects.BuiltInClasses("loss").Select(t => t.Name)];

    private static readonly Dictionary<string, Func<Loss>> NonDefaultLosses = new(StringComparer.Ordinal)
    {
        ["CategoricalCrossentropy"] = () => new CategoricalCrossentropy(fromLogits: true, labelSmoothing: 0.1),
        ["SparseCategoricalCrossentropy"] = () => new SparseCategoricalCrossentropy(fromLogits: true),
        ["BinaryCrossentropy"] = () => new BinaryCrossentropy(fromLogits: true, labelSmoothing: 0.2),
        ["Huber"] = () => new Huber(2.5),
    };

    [Theory]
    [MemberData(nameof(LossClasses))]
    public void EveryLossClassRoundTrips(string className)
    {
        var type = KerasObjects.BuiltInClasses("loss").Single(t => t.Name == className);
        var defaults = (Loss)WithDefaults(type);
        AssertCompileRoundTrips(null, defaults);
        if (NonDefaultLosses.TryGetValue(className, out var make)) AssertCompileRoundTrips(null, make());
    }

    [Fact]
    public void ALossWithArgumentsIsWrittenWithThem()
    {
        using var model = DenseModel(() => new Dense(3));
        model.Compile("sgd", new Huber(2.5));
        var loss = Assert.IsType<Dictionary<string, object?>>(CompileConfig.Serialize(model)!["loss"]);
        Assert.Equal("Huber", loss["class_name"]);
        Assert.Equal(2.5, ((Dictionary<string, object?>)loss["config"]!)["delta"]);
        model.Compile("sgd", "huber");
        Assert.Equal("huber", CompileConfig.Serialize(model)!["loss"]); // Keras writes what compile was given: the name
    }

    public static TheoryData<string> MetricNames => [.. KerasObjects.BuiltInNames("metric")];

    [Theory]
    [MemberData(nameof(MetricNames))]
    public void EveryMetricNameRoundTrips(string name) => AssertCompileRoundTrips(null, "categorical_crossentropy", [name]);

    [Fact]
    public void EveryMetricClassRoundTripsWithItsArguments()
    {
        // Mean averages the values a custom TrainStep gives it: Compile refuses it as a metric of (y, yPred).
        var classes = KerasObjects.BuiltInClasses("metric").Where(t => t != typeof(MeanMetricWrapper) && t != typeof(Mean))
            .Select(t => t.Name).Order().ToList();
        Assert.Equal(["AUC", "Precision", "Recall"], classes); // a new metric class needs a case below
        AssertCompileRoundTrips(null, "binary_crossentropy", [new Precision(0.3), new Recall(0.7, name: "recall_at_70"), new AUC(numThresholds: 50)]);
        AssertCompileRoundTrips(null, "binary_crossentropy", [new Precision(), new Recall(), new AUC()]);
    }

    [Fact]
    public void ACustomMetricFunctionLoadsThroughCustomObjects()
    {
        Func<KTensor, KTensor, KTensor> maxError = (t, p) => Ops.Max(Ops.Abs(Ops.Subtract(t, p)), -1);
        using var model = DenseModel(() => new Dense(3));
        model.Compile("sgd", "mse", [new MeanMetricWrapper("max_error", maxError)]);
        using var dir = NewTempDir();
        model.Save(dir.File("m.keras"));
        using (var uncompiled = Model.LoadModel(dir.File("m.keras"))) Assert.False(uncompiled.IsCompiled);
        using var loaded = Model.LoadModel(dir.File("m.keras"), new CustomObjects { ["max_error"] = maxError });
        Assert.True(loaded.IsCompiled);
        Assert.Equal(ConfigJson.Write(CompileConfig.Serialize(model)), ConfigJson.Write(CompileConfig.Serialize(loaded)));
    }

    public static TheoryData<string> OptimizerClasses => [.. KerasObjects.BuiltInClasses("optimizer").Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(OptimizerClasses))]
    public void EveryOptimizerRoundTripsWithDefaultAndNonDefaultArguments(string className)
    {
        var type = KerasObjects.BuiltInClasses("optimizer").Single(t => t.Name == className);
        var ctor = type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        AssertCompileRoundTrips((Optimizer)WithDefaults(type), "mse");
        // Every double argument nudged (kept in its valid range), a schedule as learning rate, clipping and weight decay set.
        var args = ctor.GetParameters().Select(p => p.Name switch
        {
            "learningRate" => new ExponentialDecay(0.05, 10, 0.9, staircase: true),
            "clipNorm" => 1.5,
            "weightDecay" => 0.01,
            _ when p.ParameterType == typeof(double) => (double)p.DefaultValue! * 0.9 + (Equals(p.DefaultValue, 0.0) ? 0.2 : 0),
            _ when p.ParameterType == typeof(bool) => !(bool)p.DefaultValue!,
            _ => p.DefaultValue,
        }).ToArray();
        AssertCompileRoundTrips((Optimizer)ctor.Invoke(args), "mse");
        Assert.IsType(type, OptimizerRegistry.Get(className.ToLowerInvariant())); // each class is a registry name too
    }

    public static TheoryData<string> ScheduleClasses => [.. KerasObjects.BuiltInClasses("learning-rate schedule").Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(ScheduleClasses))]
    public void EveryLearningRateScheduleRoundTrips(string className)
    {
        LearningRate schedule = className switch
        {
            "ExponentialDecay" => new ExponentialDecay(0.1, 100, 0.5, staircase: true),
            "InverseTimeDecay" => new InverseTimeDecay(0.1, 10, 0.5),
            "CosineDecay" => new CosineDecay(0.2, 50, alpha: 0.1),
            "PiecewiseConstantDecay" => new PiecewiseConstantDecay([10, 20], [0.1, 0.05, 0.01]),
            _ => throw new Xunit.Sdk.XunitException($"Add a case for the schedule {className}."),
        };
        AssertCompileRoundTrips(new SGD(schedule, momentum: 0.5), "mse");
    }
}
