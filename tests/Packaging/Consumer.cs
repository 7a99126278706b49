// The Program.cs of the consumer project that tests/Packaging/check.sh creates with `dotnet new console` outside the
// repository. It uses OnnxKeras only through the packages of the temporary feed (OnnxKeras.Cpu.Linux: Training, Export,
// Inference and the Linux CPU runtimes), with no RuntimeIdentifier, as a new user would.
using OnnxKeras;
using OnnxKeras.Datasets;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;

string outDir = args.Length > 0 ? args[0] : Directory.GetCurrentDirectory();
Keras.SetThreads(1);
Keras.SetRandomSeed(7);

var data = Mnist.Load();                                     // embedded in the OnnxKeras.Training package
var model = new Sequential(
    new InputLayer([784]) { Name = "pixels" },               // the model's input name becomes the ONNX input's
    new Dense(32, activation: "relu"),
    new Dense(10, activation: "softmax") { Name = "probabilities" });
model.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);
model.Fit(data.TrainImages, data.TrainLabels, epochs: 2, batchSize: 64, verbose: 0);
double accuracy = model.Evaluate(data.TestImages, data.TestLabels)["accuracy"];
Console.WriteLine($"consumer: trained 784-32-10 for 2 epochs, test accuracy {accuracy:P2}");
// A 784-32-10 MLP after 2 epochs on 8,000 digits reaches about 90%; 80% would be far below any working training.
if (accuracy < 0.80) throw new Exception($"test accuracy {accuracy:P2} is below 80%: training did not work");

string onnxPath = Path.Combine(outDir, "tiny.onnx");
var report = model.ExportOnnx(onnxPath, new OnnxExportOptions { Verify = true });
Console.WriteLine($"consumer: exported {onnxPath} ({report.FileSize} bytes), verified against ONNX Runtime: max |diff| {report.MaxAbsDifference:G3}");

using var served = OnnxModel.Load(onnxPath);                 // OnnxKeras.Inference on Microsoft.ML.OnnxRuntime (CPU)
if (served.Inputs[0].Name != "pixels" || served.Outputs[0].Name != "probabilities")
    throw new Exception($"the ONNX graph is named {served.Inputs[0].Name} -> {served.Outputs[0].Name}, not the model's pixels -> probabilities");
Console.WriteLine($"consumer: ONNX input '{served.Inputs[0].Name}', output '{served.Outputs[0].Name}' (the model's own names)");
float[,] onnxProbabilities = served.Predict(data.TestImages);
float[,] kerasProbabilities = model.Predict(data.TestImages).ToArray2D();
double worst = 0;
for (int i = 0; i < onnxProbabilities.GetLength(0); i++)
    for (int j = 0; j < onnxProbabilities.GetLength(1); j++)
        worst = Math.Max(worst, Math.Abs(onnxProbabilities[i, j] - kerasProbabilities[i, j]));
Console.WriteLine($"consumer: OnnxModel.Predict on {served.ActiveProvider} vs model.Predict over 2,000 digits: max |diff| {worst:G3}");
if (!(worst <= 1e-5)) throw new Exception($"ONNX Runtime and TorchSharp disagree by {worst}");

// The compiled training step (Compile(jitCompile: true), TorchScript from the package's libtorch) against the eager one:
// twins from one seed, 10 batches of 64 through TrainOnBatch; the losses must agree within 1e-6 (the library's own tests'
// bound) and the compiled twin must have run compiled.
var losses = new double[2][];
for (int k = 0; k < 2; k++)
{
    Keras.SetRandomSeed(11);
    var twin = new Sequential(new InputLayer([784]), new Dense(32, activation: "relu"), new Dense(10, activation: "softmax"));
    twin.Compile(optimizer: "adam", loss: "sparse_categorical_crossentropy", jitCompile: k == 1);
    losses[k] = new double[10];
    for (int b = 0; b < 10; b++)
    {
        var xb = new float[64, 784];
        Buffer.BlockCopy(data.TrainImages, b * 64 * 784 * sizeof(float), xb, 0, 64 * 784 * sizeof(float));
        losses[k][b] = twin.TrainOnBatch(xb, data.TrainLabels[(b * 64)..((b + 1) * 64)])["loss"];
    }
    if (twin.UsesCompiledStep != (k == 1)) throw new Exception($"jitCompile {k == 1}: UsesCompiledStep is {twin.UsesCompiledStep} ({twin.JitCompileReason})");
}
double lossGap = losses[0].Zip(losses[1], (a, c) => Math.Abs(a - c)).Max();
Console.WriteLine($"consumer: compiled vs eager training step, 10 batches: max |loss diff| {lossGap:G3}");
if (!(lossGap <= 1e-6) || losses[0][9] >= losses[0][0]) throw new Exception($"compiled and eager steps disagree ({lossGap}) or did not train");

// Three test digits for `onnxkeras predict` (CSV, one row per sample) and their expected classes.
using (var csv = new StreamWriter(Path.Combine(outDir, "samples.csv")))
    for (int i = 0; i < 3; i++)
        csv.WriteLine(string.Join(",", Enumerable.Range(0, 784).Select(j => data.TestImages[i, j].ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
int[] classes = model.Predict(data.TestImages).ArgMax();
File.WriteAllText(Path.Combine(outDir, "expected_classes.txt"), string.Join(" ", classes.Take(3)));
Console.WriteLine("consumer: ok");
