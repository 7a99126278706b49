using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

namespace OnnxKeras.Examples.Quickstart;

/// <summary>
/// Cells 5 and 6 of the tutorial: saving and restoring weights, the architecture (JSON, YAML) and the whole model, then,
/// in place of <c>tf.keras.estimator.model_to_estimator</c>, ONNX export and prediction with ONNX Runtime.
/// </summary>
internal static class SavingCells
{
    public static void Run(float[,] trainX, float[,] trainY, float[,] testX)
    {
        Cell("5.1 权重保存 (saving weights)");
        // The tutorial saves an unbuilt model; a model without weights has nothing to save, so its input shape is given.
        var model = new Sequential(new Dense(64, activation: "relu") { InputShape = [72] }, new Dense(10, activation: "softmax"));
        model.Compile(optimizer: new Adam(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var before = model.Predict(testX);
        model.SaveWeights("./weights/model");                 // TensorFlow's checkpoint there; safetensors here
        model.LoadWeights("./weights/model");
        model.SaveWeights("./model.h5");                      // Keras 2's HDF5 weights layout
        model.LoadWeights("./model.h5");
        Check("weights reloaded from ./weights/model and ./model.h5", Same(before, model.Predict(testX)));

        Cell("5.2 保存网络结构 (saving the architecture)");
        string jsonStr = model.ToJson();
        Console.WriteLine(OnnxKeras.Saving.ConfigJson.Write(OnnxKeras.Saving.ModelConfig.ParseJson(jsonStr), indented: true)); // pprint(json.loads(json_str))
        using (var freshModel = Model.FromJson(jsonStr)) Check($"model_from_json rebuilt {freshModel.Layers.Count} layers", freshModel.Layers.Count == 2);
        string yamlStr = model.ToYaml();
        Console.WriteLine(yamlStr);
        using (var freshModel = Model.FromYaml(yamlStr)) Check($"model_from_yaml rebuilt {freshModel.Layers.Count} layers", freshModel.Layers.Count == 2);

        Cell("5.3 保存整个模型 (saving the whole model)");
        model = new Sequential(new Dense(10, activation: "softmax") { InputShape = [72] }, new Dense(10, activation: "softmax"));
        model.Compile(optimizer: "rmsprop", loss: "categorical_crossentropy", metrics: ["accuracy"]);
        model.Fit(trainX, trainY, batchSize: 32, epochs: 5);
        model.Save("all_model.h5");
        var expected = model.Predict(testX);
        model = (Sequential)Model.LoadModel("all_model.h5");
        Check("load_model('all_model.h5') predicts as before", Same(expected, model.Predict(testX)));

        Cell("6 ONNX 导出 (in place of model_to_estimator: export to ONNX, predict with ONNX Runtime)");
        model = new Sequential(new InputLayer([72]) { Name = "x" }, new Dense(10, activation: "softmax"), new Dense(10, activation: "softmax"));
        model.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
        var report = model.ExportOnnx("model.onnx", new OnnxExportOptions { Verify = true });
        Console.WriteLine(report);
        using var served = OnnxModel.Load("model.onnx");
        Console.WriteLine($"ONNX input '{served.Inputs[0].Name}' {served.Inputs[0].ShapeText}, output '{served.Outputs[0].Name}' {served.Outputs[0].ShapeText}");
        float[,] probabilities = served.Predict(testX);
        var onnxResult = new NDArray(probabilities.Cast<float>().ToArray(), probabilities.GetLength(0), probabilities.GetLength(1));
        Console.WriteLine(onnxResult);
        var kerasResult = model.Predict(testX);
        double maxDiff = onnxResult.Data.Zip(kerasResult.Data, (a, b) => (double)Math.Abs(a - b)).Max();
        Check($"ONNX Runtime ({served.ActiveProvider}) and model.predict agree: max |diff| {maxDiff:E1}", maxDiff <= 1e-5);
    }

    private static void Cell(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"== {title}");
    }

    private static void Check(string what, bool ok)
    {
        Console.WriteLine(what + (ok ? "" : ": FAILED"));
        if (!ok) throw new InvalidOperationException(what);
    }

    private static bool Same(NDArray a, NDArray b) => a.Data.AsSpan().SequenceEqual(b.Data);
}
