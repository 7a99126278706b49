using OnnxKeras.Models;

namespace OnnxKeras.Examples.Quickstart;

/// <summary>Sections 10-12 of the quick-start: saving and restoring weights, the architecture, and whole models.</summary>
internal static class PersistenceSections
{
    public static void Run(Model model, float[,] data, string work)
    {
        var expected = model.Predict(data);

        Console.WriteLine();
        Console.WriteLine("== 10. Save and restore weights (native safetensors and Keras's .weights.h5)");
        model.SaveWeights(Path.Combine(work, "weights", "model"));
        model.SaveWeights(Path.Combine(work, "weights", "model.weights.h5"));
        foreach (var file in new[] { "model", "model.weights.h5" })
        {
            using var copy = Model.FromJson(model.ToJson());
            copy.LoadWeights(Path.Combine(work, "weights", file));
            Console.WriteLine($"  {file}: {new FileInfo(Path.Combine(work, "weights", file)).Length:N0} bytes, predictions equal: {Same(expected, copy.Predict(data))}");
        }

        Console.WriteLine();
        Console.WriteLine("== 11. Save and restore the architecture (JSON and YAML)");
        string json = model.ToJson();
        using (var fromJson = Model.FromJson(json)) Console.WriteLine($"  to_json: {json.Length} characters; model_from_json rebuilt {fromJson.Layers.Count} layers");
        string yaml = model.ToYaml();
        using (var fromYaml = Model.FromYaml(yaml)) Console.WriteLine($"  to_yaml: {yaml.Split('\n').Length} lines; model_from_yaml rebuilt {fromYaml.Layers.Count} layers");

        Console.WriteLine();
        Console.WriteLine("== 12. Save and restore the whole model (.keras)");
        var path = Path.Combine(work, "all_model.keras");
        model.Save(path);
        using var loaded = Model.LoadModel(path);
        Console.WriteLine($"  {new FileInfo(path).Length:N0} bytes; compiled: {loaded.IsCompiled}; predictions equal: {Same(expected, loaded.Predict(data))}");
        if (!Same(expected, loaded.Predict(data))) throw new InvalidOperationException("The reloaded model predicts differently.");
    }

    private static bool Same(NDArray a, NDArray b) => a.Data.AsSpan().SequenceEqual(b.Data);
}
