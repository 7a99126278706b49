using System.Diagnostics;
using OnnxKeras;
using OnnxKeras.Examples.TabularPreprocessing;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

// Raw tabular rows in, predictions out, with the preprocessing inside the model: Normalization learns the feature means
// and variances (Adapt), the model trains, the exported ONNX file takes the raw measurements in centimetres, and
// `onnxkeras serve` answers KServe v2 requests with the same numbers as OnnxModel.Predict.
Keras.SetThreads(1);
Keras.SetRandomSeed(42);
var clock = Stopwatch.StartNew();
var iris = IrisData.Load();
var (trainX, trainY, testX, testY) = iris.Split(testCount: 30, seed: 42);
Console.WriteLine($"Iris: {trainY.Length} training and {testY.Length} test rows, features {string.Join(", ", IrisData.Features)}");

// ---- the model: raw features -> Normalization (adapted) -> MLP -> class probabilities --------------------------------
var norm = new Normalization();
norm.Adapt(trainX);   // population mean and variance per feature, stored as the layer's non-trainable weights
var model = new Sequential(
    new InputLayer([4]) { Name = "measurements" },         // the ONNX input's name
    norm,
    new Dense(16, activation: "relu"),
    new Dense(3, activation: "softmax") { Name = "species" }); // the ONNX output's name
model.Compile(optimizer: new Adam(0.01), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
model.Fit(trainX, trainY, epochs: 60, batchSize: 16, verbose: 0);
var test = model.Evaluate(testX, testY);
Console.WriteLine($"Trained: test loss {test["loss"]:0.0000}, test accuracy {test["accuracy"]:P1}");

// ---- export: the ONNX file takes raw rows ----------------------------------------------------------------------------
string dir = Outputs.Folder();
string onnxPath = Path.Combine(dir, "iris.onnx");
model.ExportOnnx(onnxPath, new OnnxExportOptions { Verify = true });
Console.WriteLine($"Exported {onnxPath} ({new FileInfo(onnxPath).Length:N0} bytes)");

using var onnx = OnnxModel.Load(onnxPath);
float[,] onnxScores = onnx.Predict(testX);
float[,] torchScores = model.Predict(testX).ToArray2D();
double torchGap = Outputs.MaxAbsDiff(torchScores, onnxScores);
int correct = Enumerable.Range(0, testY.Length).Count(i => Outputs.ArgMax(onnxScores, i) == testY[i]);
Console.WriteLine($"OnnxModel.Predict on the {testY.Length} raw test rows: accuracy {(double)correct / testY.Length:P1}, " +
    $"max |ONNX - TorchSharp| = {torchGap:E2}");
Console.WriteLine($"  first row {string.Join(", ", Enumerable.Range(0, 4).Select(j => testX[0, j]))} cm -> " +
    $"{IrisData.Species[Outputs.ArgMax(onnxScores, 0)]} ({onnxScores[0, Outputs.ArgMax(onnxScores, 0)]:P1})");

// ---- serve: `onnxkeras serve iris.onnx --port 0`, then POST the raw rows (KServe v2 REST) ----------------------------
await using (var server = await ServedModel.StartAsync(onnxPath, "iris"))
{
    Console.WriteLine($"onnxkeras serve: {server.BaseAddress}");
    float[,] served = await server.InferAsync(onnx.Inputs[0].Name, testX);
    double servedGap = Outputs.MaxAbsDiff(onnxScores, served);
    Console.WriteLine($"POST /v2/models/iris/infer with the {testY.Length} raw rows: max |served - OnnxModel.Predict| = {servedGap:E2}");
    if (servedGap > 1e-6) throw new InvalidOperationException($"the server's answers differ from OnnxModel.Predict by {servedGap}");
}
if (torchGap > 1e-5) throw new InvalidOperationException($"ONNX Runtime and TorchSharp differ by {torchGap}");
Console.WriteLine($"TabularPreprocessing completed in {clock.Elapsed.TotalSeconds:0.0} s.");
