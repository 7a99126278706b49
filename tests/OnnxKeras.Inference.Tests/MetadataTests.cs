using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace OnnxKeras.Inference.Tests;

public class MetadataTests
{
    [Fact]
    public void InputsAndOutputsReportNamesTypesAndSymbolicShapes()
    {
        using var m = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        var x = Assert.Single(m.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Equal(TensorElementType.Float, x.ElementType);
        Assert.True(x.IsTensor);
        Assert.Equal(2, x.Rank);
        Assert.Equal([null, 3L], x.Shape);
        Assert.Equal(new TensorDimension(null, "batch"), x.Dimensions[0]);
        Assert.Equal(new TensorDimension(3, null), x.Dimensions[1]);
        Assert.False(x.Dimensions[0].IsFixed);
        Assert.Equal("[batch, 3]", x.ShapeText);
        Assert.Equal("x: Float [batch, 3]", x.ToString());
        var y = Assert.Single(m.Outputs);
        Assert.Equal("y", y.Name);
        Assert.Equal("[batch, 2]", y.ShapeText);
    }

    [Fact]
    public void UnnamedUnknownDimensionsAreNullWithoutName()
    {
        using var m = OnnxModel.Load(TestModels.ReluAndNonZero(), TestModels.Cpu());
        var nz = m.Outputs.Single(o => o.Name == "nz");
        Assert.Equal([2L, null], nz.Shape);
        Assert.Equal("[2, ?]", nz.ShapeText);
        Assert.Equal(new TensorDimension(null, null), nz.Dimensions[1]);
    }

    [Fact]
    public void MultipleInputsAndOutputsKeepDeclarationOrderAndTypes()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        Assert.Equal(["a", "b"], m.Inputs.Select(i => i.Name));
        Assert.Equal(["sum", "prod"], m.Outputs.Select(o => o.Name));
        using var a = OnnxModel.Load(TestModels.ArgMax(), TestModels.Cpu());
        Assert.Equal(TensorElementType.Int64, a.Outputs[0].ElementType);
        Assert.Equal("[batch]", a.Outputs[0].ShapeText);
    }

    [Fact]
    public void ModelMetadataAndKerasConfigAreExposed()
    {
        using var m = OnnxModel.Load(TestModels.DenseWithMetadata(), TestModels.Cpu());
        Assert.Equal("onnxkeras", m.ProducerName);
        Assert.Equal("ai.onnxkeras.test", m.Domain);
        Assert.Equal("a tiny dense model", m.Description);
        Assert.Equal(3, m.ModelVersion);
        Assert.Equal("dense", m.GraphName);
        Assert.Equal(2, m.MetadataProps.Count);
        Assert.Equal(TestModels.KerasConfigJson, m.MetadataProps["keras_config"]);
        Assert.Equal("3.10.0", m.MetadataProps["keras_version"]);
        Assert.Equal(TestModels.KerasConfigJson, m.KerasConfig);
    }

    [Fact]
    public void ModelWithoutMetadataHasEmptyPropsAndNoKerasConfig()
    {
        using var m = OnnxModel.Load(TestModels.AddMul(), TestModels.Cpu());
        Assert.Empty(m.MetadataProps);
        Assert.Null(m.KerasConfig);
        Assert.Equal("onnxkeras-tests", m.ProducerName);
    }
}
