using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;
using static OnnxKeras.Tests.Layers.FamilyTestUtil;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Layers;

/// <summary>
/// Lambda over a named C# function: the layer harness (config, shapes, ONNX export at every opset), outputs worked by
/// hand, the registered-function config form, loading with and without the function, and the refusal of Python lambdas.
/// </summary>
public class LambdaTests
{
    /// <summary>[x, x^2] along the last axis, registered under onnxkeras_tests&gt;concat_square.</summary>
    internal static readonly ActivationFunction ConcatSquare = Registered(new("concat_square", x => Ops.Concatenate([x, Ops.Square(x)], -1)));

    private static ActivationFunction Registered(ActivationFunction f)
    {
        KerasObjects.Register(f, "onnxkeras_tests");
        return f;
    }

    [Fact]
    public void LambdaHarness() =>
        LayerTestHarness.Run(new Lambda(ConcatSquare), [3, 4], [3, 8], 0, 0, supportsTraining: false);

    [Fact]
    public void LambdaOfABuiltInActivationWithAnOutputShapeHarness() =>
        LayerTestHarness.Run(new Lambda(Activations.Tanh, outputShape: new Shape(5)), [5], [5], 0, 0, supportsTraining: false);

    [Fact]
    public void LambdaAppliesTheFunction()
    {
        using var scope = NewDisposeScope();
        // [1, -2] -> [1, -2, 1, 4]; [3, 0.5] -> [3, 0.5, 9, 0.25].
        var y = new Lambda(ConcatSquare).Apply(T([1, -2, 3, 0.5f], 2, 2));
        Assert.Equal(new float[] { 1, -2, 1, 4, 3, 0.5f, 9, 0.25f }, Values(y));
        Assert.Equal(new Shape(null, 4), new Lambda(ConcatSquare).ComputeOutputShape(new Shape(null, 2)));
        Assert.Equal(new Shape(null, 7), new Lambda(ConcatSquare, outputShape: new Shape(7)).ComputeOutputShape(new Shape(null, 2)));
    }

    [Fact]
    public void TheConfigNamesTheFunctionAsKerasNamesARegisteredOne()
    {
        var config = new Lambda(ConcatSquare, outputShape: new Shape(4)).GetConfig();
        var function = (Dictionary<string, object?>)config["function"]!;
        Assert.Equal("function", function["class_name"]);
        Assert.Equal("concat_square", function["config"]);
        Assert.Equal("onnxkeras_tests>concat_square", function["registered_name"]);
        Assert.Equal(new long?[] { 4 }, (long?[])config["output_shape"]!);
        Assert.Empty((Dictionary<string, object?>)config["arguments"]!);
        var builtIn = (Dictionary<string, object?>)new Lambda(Activations.Tanh).GetConfig()["function"]!;
        Assert.Null(builtIn["registered_name"]);
        Assert.Equal("tanh", builtIn["config"]);
    }

    [Fact]
    public void AnUnregisteredFunctionLoadsOnlyWithCustomObjects()
    {
        var cube = new ActivationFunction("lambda_test_cube", x => x * x * x);
        var input = Keras.Input([2]);
        using var model = new Model(input, new Lambda(cube).Apply(input));
        var e = Assert.Throws<ArgumentException>(() => Model.FromJson(model.ToJson()));
        Assert.Contains("lambda_test_cube", e.Message);
        Assert.Contains("customObjects", e.Message);
        Func<KTensor, KTensor> f = x => x * x * x;
        using var loaded = Model.FromJson(model.ToJson(), new CustomObjects { ["lambda_test_cube"] = f });
        using var scope = NewDisposeScope();
        Assert.Equal(new float[] { 8, -1 }, Values(loaded.Apply(T([2, -1], 1, 2))));
    }

    private static LayerConfig Config(object? function) => new()
    {
        ["name"] = "l",
        ["trainable"] = true,
        ["dtype"] = "float32",
        ["function"] = function,
        ["arguments"] = new Dictionary<string, object?>(),
    };

    [Fact]
    public void APythonLambdaIsRefusedWithAClearMessage()
    {
        var keras3 = Config(new Dictionary<string, object?>
        {
            ["class_name"] = "__lambda__",
            ["config"] = new Dictionary<string, object?> { ["code"] = "4wEAAAAAAAAA", ["defaults"] = null, ["closure"] = null },
        });
        var e = Assert.Throws<InvalidDataException>(() => LayerRegistry.FromConfig("Lambda", keras3));
        Assert.Contains("Python lambda", e.Message);
        Assert.Contains("'function'", e.Message);
        var keras2 = Config(new List<object?> { "4wEAAAAAAAAA", null, null });
        keras2["function_type"] = "lambda";
        Assert.Contains("Python lambda", Assert.Throws<InvalidDataException>(() => LayerRegistry.FromConfig("Lambda", keras2)).Message);
    }

    [Fact]
    public void AKerasTwoConfigOfANamedFunctionLoads()
    {
        var config = Config("concat_square");
        config["function_type"] = "function";
        config["module"] = "__main__";
        config["output_shape"] = null;
        config["output_shape_type"] = "raw";
        config["output_shape_module"] = null;
        var layer = Assert.IsType<Lambda>(LayerRegistry.FromConfig("Lambda", config));
        Assert.Same(ConcatSquare, layer.Function);
        config["output_shape_type"] = "lambda";
        Assert.Throws<InvalidDataException>(() => LayerRegistry.FromConfig("Lambda", config));
    }

    [Fact]
    public void KeywordArgumentsAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new Lambda(ConcatSquare, arguments: new Dictionary<string, object?> { ["alpha"] = 2 }));
        Assert.Contains("alpha", e.Message);
        Assert.Throws<ArgumentNullException>(() => new Lambda(null!));
    }
}
