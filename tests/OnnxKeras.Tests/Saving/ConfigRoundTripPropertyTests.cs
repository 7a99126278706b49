using CsCheck;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Saving;

/// <summary>Random valid Sequential models survive ToJson/FromJson, ToYaml/FromYaml and Save/LoadModel unchanged.</summary>
public class ConfigRoundTripPropertyTests
{
    private static readonly string[] ActivationNames = ["linear", "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "softplus", "softsign", "leaky_relu", "hard_sigmoid"];

    /// <summary>A layer spec: kind, size, activation index, flag.</summary>
    private static readonly Gen<(int Kind, int Size, int Activation, bool Flag)> LayerSpec =
        Gen.Select(Gen.Int[0, 4], Gen.Int[1, 12], Gen.Int[0, ActivationNames.Length - 1], Gen.Bool);

    private static Sequential Build(int inputs, (int Kind, int Size, int Activation, bool Flag)[] specs)
    {
        var layers = new List<Layer> { new InputLayer([inputs]) };
        foreach (var (kind, size, activation, flag) in specs)
        {
            layers.Add(kind switch
            {
                0 or 1 => new Dense(size, activation: ActivationNames[activation], useBias: flag,
                    kernelRegularizer: flag ? Regularizers.L2(0.01 * size) : null),
                2 => new Dropout(size / 20.0),
                3 => new Activation(ActivationNames[activation]),
                _ => new LayerNormalization(epsilon: 1e-3 * size, center: flag),
            });
        }
        layers.Add(new Dense(3, activation: "softmax"));
        return new Sequential([.. layers]);
    }

    [Fact]
    public void RandomModelsSurviveJsonYamlAndKerasArchives()
    {
        var dir = Directory.CreateTempSubdirectory("onnxkeras-property-");
        try
        {
            Gen.Select(Gen.Int[1, 8], LayerSpec.Array[0, 5]).Sample((inputs, specs) =>
            {
                using var model = Build(inputs, specs);
                string json = model.ToJson();
                using (var fromJson = Model.FromJson(json)) Assert.Equal(json, fromJson.ToJson());
                using (var fromYaml = Model.FromYaml(model.ToYaml())) Assert.Equal(json, fromYaml.ToJson());

                var path = Path.Combine(dir.FullName, "m.keras");
                model.Save(path);
                using var loaded = Model.LoadModel(path);
                Assert.Equal(json, loaded.ToJson());
                var x = new float[2, inputs];
                for (int i = 0; i < x.Length; i++) x[i / inputs, i % inputs] = (float)Math.Sin(i);
                Assert.Equal(model.Predict(x).Data, loaded.Predict(x).Data);
            }, iter: 40, threads: 1); // one at a time: the tests share the global random generator
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
