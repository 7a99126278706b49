using OnnxKeras.Layers;
using OnnxKeras.Tests.Models;
using Xunit;

namespace OnnxKeras.Tests.Layers;

public class LayerRegistryTests
{
    [Fact]
    public void RegisteredCustomLayerRoundTripsThroughItsRegisteredName()
    {
        var layer = new MyLayer(7) { Name = "mine" };
        var serialized = LayerRegistry.Serialize(layer);
        Assert.Equal("MyLayer", serialized["class_name"]);
        Assert.Equal("Custom>MyLayer", serialized["registered_name"]);
        var rebuilt = Assert.IsType<MyLayer>(LayerRegistry.Deserialize(serialized));
        Assert.Equal(7, rebuilt.OutputDim);
        Assert.Equal("mine", rebuilt.Name);
    }

    [Fact]
    public void UnknownClassNamesSayHowToRegister()
    {
        var e = Assert.Throws<ArgumentException>(() => LayerRegistry.Resolve("NoSuchLayer"));
        Assert.Contains("'NoSuchLayer'", e.Message);
        Assert.Contains("[RegisterSerializable(\"NoSuchLayer\")]", e.Message);
        Assert.Contains("LayerRegistry.Register", e.Message);
    }

    [Fact]
    public void BuiltInLayersResolveByKerasClassName()
    {
        Assert.Equal(typeof(Dense), LayerRegistry.Resolve("Dense"));
        Assert.Equal(typeof(Conv2D), LayerRegistry.Resolve("Conv2D"));
        Assert.Equal(typeof(LSTM), LayerRegistry.Resolve("LSTM"));
    }

    [Fact]
    public void ANameCannotBeTakenByTwoTypes()
    {
        var e = Assert.Throws<ArgumentException>(() => LayerRegistry.Register<PairwiseProducts>("Dense"));
        Assert.Contains("already registered", e.Message);
    }
}
