// The Keras quick-start ("Keras: The Python Deep Learning library" overview, TensorFlow 2 guide), section by section,
// in C# with OnnxKeras. Each section prints its result. Run: dotnet run --project examples/Quickstart
using OnnxKeras;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Examples.Quickstart;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

Keras.SetThreads(Environment.ProcessorCount);
Keras.SetRandomSeed(1);
var work = Directory.CreateTempSubdirectory("onnxkeras-quickstart-").FullName;
var rng = new Random(0);
float[,] Random2D(int rows, int cols) { var a = new float[rows, cols]; for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) a[i, j] = (float)rng.NextDouble(); return a; }
float[,] OneHot(int rows, int classes) { var a = new float[rows, classes]; for (int i = 0; i < rows; i++) a[i, rng.Next(classes)] = 1; return a; }

Section("1. Build a simple model: a Sequential stack");
var model = new Sequential();
model.Add(new Dense(64, activation: "relu") { InputShape = [32] });
model.Add(new Dense(64, activation: "relu"));
model.Add(new Dense(10, activation: "softmax"));
model.Summary();

Section("2. Configure the layers");
var layers = new Layer[]
{
    new Dense(64, activation: "sigmoid"),
    new Dense(64, activation: Activations.Sigmoid),
    new Dense(64, kernelRegularizer: Regularizers.L1(0.01)),
    new Dense(64, biasRegularizer: Regularizers.L2(0.01)),
    new Dense(64, kernelInitializer: new Orthogonal()),
    new Dense(64, biasInitializer: new Constant(2.0)),
};
foreach (var layer in layers) Console.WriteLine($"  {layer.Name}: {LayerConfigText(layer)}");

Section("3. Train and evaluate: compile and fit on arrays");
var quick = new Sequential(new InputLayer([72]), new Dense(64, activation: "relu"), new Dense(64, activation: "relu"), new Dense(10, activation: "softmax"));
quick.Compile(optimizer: new Adam(0.01), loss: "categorical_crossentropy", metrics: ["accuracy"]);
var data = Random2D(1000, 72);
var labels = OneHot(1000, 10);
var valData = Random2D(100, 72);
var valLabels = OneHot(100, 10);
var history = quick.Fit(data, labels, epochs: 3, batchSize: 32, validationData: (valData, valLabels), verbose: 2);
Console.WriteLine($"  history keys: {string.Join(", ", history.HistoryData.Keys)}");

Section("4. Fit on a Dataset");
var dataset = Dataset.FromTensorSlices(data, labels).Batch(32).Repeat();
var valDataset = Dataset.FromTensorSlices(valData, valLabels).Batch(32).Repeat();
quick.Fit(dataset, epochs: 3, stepsPerEpoch: 30, validationData: valDataset, validationSteps: 3, verbose: 2);

Section("5. Evaluate and predict");
Print("evaluate(arrays)", quick.Evaluate(data, labels, batchSize: 32));
Print("evaluate(dataset)", quick.Evaluate(Dataset.FromTensorSlices(data, labels).Batch(32)));
var predictions = quick.Predict(data, batchSize: 32);
Console.WriteLine($"  predict(arrays): shape ({string.Join(", ", predictions.Shape)})");
Console.WriteLine($"  predict(dataset): shape ({string.Join(", ", quick.Predict(Dataset.FromTensorSlices(data).Batch(32)).Shape)})");

Section("6. The functional API");
var inputs = Keras.Input(shape: [72]);
var x = new Dense(64, activation: "relu").Apply(inputs);
x = new Dense(64, activation: "relu").Apply(x);
var outputs = new Dense(10, activation: "softmax").Apply(x);
var functional = new Model(inputs, outputs);
functional.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
var fh = functional.Fit(data, labels, batchSize: 32, epochs: 5, verbose: 0);
Console.WriteLine($"  loss {fh["loss"][0]:0.0000} -> {fh["loss"][^1]:0.0000}");

Section("7. Model subclassing");
var subclassed = new MyModel(numClasses: 10);
subclassed.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
var sh = subclassed.Fit(data, labels, batchSize: 32, epochs: 5, verbose: 0);
Console.WriteLine($"  loss {sh["loss"][0]:0.0000} -> {sh["loss"][^1]:0.0000}");
var subclassedPath = Path.Combine(work, "subclassed.keras");
subclassed.Save(subclassedPath);                             // the registered class name and its config, then the weights
using (var reloaded = Model.LoadModel(subclassedPath))
{
    bool same = subclassed.Predict(valData).Data.AsSpan().SequenceEqual(reloaded.Predict(valData).Data);
    Console.WriteLine($"  saved and reloaded as a {reloaded.GetType().Name}; predictions equal: {same}");
    if (!same) throw new InvalidOperationException("The reloaded subclassed model predicts differently.");
}

Section("8. Custom layers");
var custom = new Sequential(new InputLayer([72]), new MyLayer(10), new Activation("softmax"));
custom.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
var ch = custom.Fit(data, labels, batchSize: 32, epochs: 5, verbose: 0);
Console.WriteLine($"  loss {ch["loss"][0]:0.0000} -> {ch["loss"][^1]:0.0000}; config {LayerConfigText(custom.Layers[0])}");
var rebuilt = LayerRegistry.Deserialize(LayerRegistry.Serialize(custom.Layers[0]));
Console.WriteLine($"  FromConfig rebuilt a {rebuilt.GetType().Name} with output_dim {((MyLayer)rebuilt).OutputDim}");

Section("9. Callbacks: EarlyStopping and TensorBoard");
var logDir = Path.Combine(work, "logs");
var cb = quick.Fit(data, labels, batchSize: 32, epochs: 5, validationData: (valData, valLabels), verbose: 0,
    callbacks: [new EarlyStopping(patience: 2, monitor: "val_loss"), new TensorBoard(logDir)]);
Console.WriteLine($"  ran {cb.Epoch.Count} epoch(s); TensorBoard files: {string.Join(", ", Directory.GetFiles(logDir, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(logDir, f)))}");

PersistenceSections.Run(quick, data, work);

Section("13. Export to ONNX and serve with ONNX Runtime (in place of the Estimator section)");
var onnxPath = Path.Combine(work, "quick.onnx");
var report = quick.ExportOnnx(onnxPath, new OnnxExportOptions { Verify = true });
Console.WriteLine($"  {report}");
using (var served = OnnxModel.Load(onnxPath))
{
    float[,] probabilities = served.Predict(valData);
    var expected = quick.Predict(valData);
    double maxDiff = 0;
    for (int i = 0; i < 100; i++) for (int j = 0; j < 10; j++) maxDiff = Math.Max(maxDiff, Math.Abs(probabilities[i, j] - expected[i, j]));
    Console.WriteLine($"  ONNX Runtime ({served.ActiveProvider}) predictions match the trained model: max |diff| {maxDiff:E1}");
    if (maxDiff > 1e-4) throw new InvalidOperationException("ONNX Runtime and the trained model disagree.");
}
Directory.Delete(work, recursive: true);
Console.WriteLine();
Console.WriteLine("Quickstart completed.");

static void Section(string title)
{
    Console.WriteLine();
    Console.WriteLine($"== {title}");
}

static void Print(string what, Dictionary<string, double> logs) =>
    Console.WriteLine($"  {what}: {string.Join(", ", logs.Select(kv => $"{kv.Key} {kv.Value:0.0000}"))}");

static string LayerConfigText(Layer layer) => OnnxKeras.Saving.ConfigJson.Write(layer.GetConfig());
