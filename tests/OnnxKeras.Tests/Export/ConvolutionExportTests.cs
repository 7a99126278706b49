using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Export;

public class ConvolutionExportTests
{
    private static Sequential MnistCnn() => new(
        new InputLayer([28, 28, 1]),
        new Conv2D(8, 3, activation: "relu"),
        new MaxPooling2D(2),
        new Conv2D(16, 3, activation: "relu"),
        new MaxPooling2D(2),
        new Flatten(),
        new Dense(10, activation: "softmax"));

    [Theory]
    [MemberData(nameof(OnnxTestHelpers.AllOpsets), MemberType = typeof(OnnxTestHelpers))]
    public void MnistCnnExportsWithTransposesOnlyAtTheLayoutEdges(int opset)
    {
        Keras.SetRandomSeed(8);
        using var model = MnistCnn();
        var bytes = model.ExportOnnxBytes(out var report, new OnnxExportOptions { Opset = opset, Verify = true });
        var g = Onnx.ModelProto.Parser.ParseFrom(bytes).Graph;
        var ops = g.Node.Select(n => n.OpType).ToList();
        // NHWC -> NCHW once after the input, NCHW -> NHWC once before Flatten (which needs Keras's channels_last order).
        Assert.Equal(2, ops.Count(o => o == "Transpose"));
        Assert.Equal(new[] { "Transpose", "Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool", "Transpose", "Flatten", "Gemm", "Softmax" }, ops);
        Assert.Equal(model.CountParams(), report.ParameterCount);
        var produced = g.Node.SelectMany(n => n.Output).Where(o => g.Output.All(x => x.Name != o));
        Assert.All(produced, v => Assert.Contains(g.ValueInfo, vi => vi.Name == v));
        OnnxTestHelpers.AssertParity(model, bytes, 1);
        OnnxTestHelpers.AssertParity(model, bytes, 3);
    }

    public static TheoryData<string> LayerCases() => ["conv_same_stride2", "conv_dilated", "depthwise", "separable", "transpose_same", "transpose_valid",
        "average_same", "max_same_odd", "global_average", "global_max", "zero_padding", "cropping", "upsampling_nearest", "upsampling_bilinear", "conv1d_causal"];

    [Theory]
    [MemberData(nameof(LayerCases))]
    public void ConvolutionFamilyLayersExportWithParity(string name)
    {
        Keras.SetRandomSeed(9);
        Layer layer = name switch
        {
            "conv_same_stride2" => new Conv2D(4, 3, strides: 2, padding: "same"),
            "conv_dilated" => new Conv2D(4, 3, dilationRate: 2, activation: "tanh"),
            "depthwise" => new DepthwiseConv2D(3, depthMultiplier: 2, padding: "same"),
            "separable" => new SeparableConv2D(5, 3, strides: 2, padding: "same"),
            "transpose_same" => new Conv2DTranspose(4, 3, strides: 2, padding: "same"),
            "transpose_valid" => new Conv2DTranspose(4, 2, strides: 2),
            "average_same" => new AveragePooling2D(3, strides: 2, padding: "same"),
            "max_same_odd" => new MaxPooling2D(2, padding: "same"),
            "global_average" => new GlobalAveragePooling2D(),
            "global_max" => new GlobalMaxPooling2D(),
            "zero_padding" => new ZeroPadding2D(((1, 2), (0, 3))),
            "cropping" => new Cropping2D(((1, 0), (2, 1))),
            "upsampling_nearest" => new UpSampling2D(2),
            "upsampling_bilinear" => new UpSampling2D(2, interpolation: "bilinear"),
            "conv1d_causal" => new Conv1D(3, 3, padding: "causal"),
            _ => throw new ArgumentException(name),
        };
        Shape inputShape = name == "conv1d_causal" ? [9, 2] : [7, 9, 3];
        using var model = new Sequential(new InputLayer(inputShape), layer);
        foreach (int opset in OnnxTestHelpers.Opsets)
        {
            var bytes = model.ExportOnnxBytes(out _, new OnnxExportOptions { Opset = opset, Verify = true });
            OnnxTestHelpers.AssertParity(model, bytes, 2);
        }
    }
}
