using OnnxKeras.Layers;
using OnnxKeras.Saving;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Saving;

public class KerasTwoActivationTests
{
    [Fact]
    public void KerasTwoHardSigmoidIsTheOldFormula()
    {
        using var scope = NewDisposeScope();
        var x = tensor(new float[] { -3, -1, 0, 1, 2, 3 });
        var y = Activations.HardSigmoidKeras2.Apply(x).Value.data<float>().ToArray();
        // clip(0.2 x + 0.5, 0, 1): 0, 0.3, 0.5, 0.7, 0.9, 1 (Keras 3's x/6 + 0.5 would give 0.8333 at 2).
        Assert.Equal(new[] { 0f, 0.3f, 0.5f, 0.7f, 0.9f, 1f }, y.Select(v => MathF.Round(v, 6)).ToArray());
    }

    [Fact]
    public void LegacyConfigsKeepKerasTwosHardSigmoid()
    {
        const string config = """{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"LSTM","config":{"name":"lstm","units":2,"activation":"tanh","recurrent_activation":"hard_sigmoid","batch_input_shape":[null,3,1]}},{"class_name":"Dense","config":{"name":"d","units":1,"activation":"hard_sigmoid"}}]}}""";
        var rewritten = KerasArchive.KerasTwoActivations(config);
        Assert.Contains("\"recurrent_activation\":\"hard_sigmoid_keras2\"", rewritten);
        Assert.Contains("\"activation\":\"hard_sigmoid_keras2\"", rewritten);
        Assert.Contains("\"activation\":\"tanh\"", rewritten);
        using var model = OnnxKeras.Models.Model.FromJson(rewritten);
        var lstm = Assert.IsType<LSTM>(model.Layers[0]);
        Assert.Equal("hard_sigmoid_keras2", lstm.GetConfig().Get<object?>("recurrent_activation", null)?.ToString());
    }
}
