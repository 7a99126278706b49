using System.Diagnostics;
using OnnxKeras;
using OnnxKeras.Callbacks;
using OnnxKeras.Datasets;
using OnnxKeras.Examples.MnistPipeline;
using OnnxKeras.Export;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Plotting;

// The main job: trains on the bundled MNIST subset (8,000 train / 2,000 test), exports ONNX files into models/,
// draws each model's training curves next to them (PNG), checks the files in ONNX Runtime and prints a report.
Keras.SetThreads(Environment.ProcessorCount);
Keras.SetRandomSeed(42);
var clock = Stopwatch.StartNew();
var data = Mnist.Load();
string modelsDir = Artifacts.ModelsFolder();
Console.WriteLine($"MNIST subset: {data.TrainLabels.Length:N0} training and {data.TestLabels.Length:N0} test images ({clock.ElapsedMilliseconds} ms to load)");
var report = new List<string>();

// ---- MLP ------------------------------------------------------------------------------------------------
var mlp = new Sequential(
    new InputLayer([784]) { Name = "pixels" },            // the model's input name, and the ONNX input's
    new Dense(128, activation: "relu"),
    new Dropout(0.1),
    new Dense(10, activation: "softmax") { Name = "probabilities" }); // the output layer's name is the ONNX output's
mlp.Summary();
mlp.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
var history = mlp.Fit(data.TrainImages, data.TrainLabels, epochs: 8, batchSize: 32, validationSplit: 0.1,
    callbacks: [new EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true, verbose: 1)]);
var test = mlp.Evaluate(data.TestImages, data.TestLabels);
report.Add($"MLP 784-128-10: {history.Epoch.Count} epochs, test loss {test["loss"]:0.0000}, test accuracy {test["accuracy"]:P2}");
SaveCurves(history, "mnist_mlp", "MLP");
Export(mlp, "mnist_mlp", "MLP 784-128(relu)-dropout-10(softmax) trained on the bundled MNIST subset", [784], test["accuracy"]);

// ---- CNN ------------------------------------------------------------------------------------------------
var cnn = new Sequential(
    new InputLayer([28, 28, 1]) { Name = "image" },
    new Conv2D(32, 3, activation: "relu"),
    new MaxPooling2D(2),
    new Conv2D(64, 3, activation: "relu"),
    new MaxPooling2D(2),
    new Flatten(),
    new Dense(10, activation: "softmax") { Name = "probabilities" });
cnn.Summary();
cnn.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
var trainImages = ToImages(data.TrainImages);
var testImages = ToImages(data.TestImages);
var cnnHistory = cnn.Fit(trainImages, data.TrainLabels, epochs: 4, batchSize: 64, validationData: (testImages, data.TestLabels));
var cnnTest = cnn.Evaluate(testImages, data.TestLabels);
report.Add($"CNN conv32-pool-conv64-pool-fc10: {cnnHistory.Epoch.Count} epochs, test loss {cnnTest["loss"]:0.0000}, test accuracy {cnnTest["accuracy"]:P2}");
SaveCurves(cnnHistory, "mnist_cnn", "CNN");
Export(cnn, "mnist_cnn", "CNN conv32(3x3,relu)-maxpool-conv64(3x3,relu)-maxpool-flatten-dense10(softmax), channels_last [28, 28, 1], trained on the bundled MNIST subset", [28, 28, 1], cnnTest["accuracy"]);

Console.WriteLine();
Console.WriteLine("Report");
foreach (var line in report) Console.WriteLine("  " + line);
Console.WriteLine($"  total time: {clock.Elapsed.TotalSeconds:0.0} s");

static float[,,,] ToImages(float[,] flat)
{
    var images = new float[flat.GetLength(0), 28, 28, 1];
    Buffer.BlockCopy(flat, 0, images, 0, flat.Length * sizeof(float));
    return images;
}

void SaveCurves(History h, string name, string title)
{
    // Loss and accuracy per epoch, training and validation, one panel each (as in the Keras tutorials).
    var png = Path.Combine(modelsDir, name + "_history.png");
    h.SavePlot(png, title: title);
    report.Add($"{name}_history.png: training curves ({string.Join(", ", h.ToChartPanels().Select(p => p.YLabel))}; training and validation per epoch), {new FileInfo(png).Length:N0} bytes");
}

void Export(Model model, string name, string description, long[] sampleShape, double torchAccuracy)
{
    // The Keras files (whole model and weights) go to artifacts/ (not tracked: they carry a save date); the ONNX file to models/.
    var artifacts = Directory.CreateDirectory(Path.Combine(Path.GetDirectoryName(modelsDir)!, "artifacts")).FullName;
    model.Save(Path.Combine(artifacts, name + ".keras"));
    model.SaveWeights(Path.Combine(artifacts, name + ".weights.h5"));
    using (var reloaded = Model.LoadModel(Path.Combine(artifacts, name + ".keras")))
    {
        bool same = reloaded.Predict(sampleShape.Length == 1 ? data.TestImages : ToImages(data.TestImages)).Data
            .AsSpan().SequenceEqual(model.Predict(sampleShape.Length == 1 ? data.TestImages : ToImages(data.TestImages)).Data);
        report.Add($"{name}.keras: {new FileInfo(Path.Combine(artifacts, name + ".keras")).Length:N0} bytes (reloaded predictions identical: {same}); {name}.weights.h5 {new FileInfo(Path.Combine(artifacts, name + ".weights.h5")).Length:N0} bytes");
    }
    var path = Path.Combine(modelsDir, name + ".onnx");
    var exportClock = Stopwatch.StartNew();
    var exported = model.ExportOnnx(path, new OnnxExportOptions { Opset = 17, Verify = true });
    double exportMs = exportClock.Elapsed.TotalMilliseconds;
    var (onnxAccuracy, onnxScores, latency) = Artifacts.OnnxCheck(path, data.TestImages, data.TestLabels, sampleShape);
    // Predictions of the reloaded file against the trained model's, on the whole test split.
    var torchScores = model.Predict(sampleShape.Length == 1 ? data.TestImages : ToImages(data.TestImages)).Data;
    double maxDiff = torchScores.Zip(onnxScores, (a, b) => (double)Math.Abs(a - b)).Max();
    Artifacts.WriteManifest(path, exported, onnxAccuracy, description);
    report.Add($"{name}.onnx: {exported}, exported in {exportMs:0} ms");
    report.Add($"  reloaded with OnnxKeras.Inference (ONNX Runtime, CPU): test accuracy {onnxAccuracy:P2} (TorchSharp {torchAccuracy:P2}), " +
        $"max |diff| over the test split {maxDiff:E1}, latency at batch 1 {latency:0.000} ms/sample");
}
