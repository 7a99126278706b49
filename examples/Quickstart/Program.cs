// The TensorFlow 2.0 Keras quick-start tutorial ("TensorFlow2.0教程-Keras 快速入门"), cell by cell, in C# with OnnxKeras:
// the same layers, numbers and calls, printing what the notebook prints (fit logs, evaluation results, predictions as
// NumPy prints them, the JSON and YAML configs). Where the tutorial hands the model to an Estimator, it exports to ONNX
// and predicts with ONNX Runtime. Run: dotnet run --project examples/Quickstart
using OnnxKeras;
using OnnxKeras.Callbacks;
using OnnxKeras.Data;
using OnnxKeras.Examples.Quickstart;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

Keras.SetThreads(1);        // a 72-32-32-10 MLP: one libtorch thread is fastest (docs/training.md, "Devices and threads")
Keras.SetRandomSeed(1);
var work = Directory.CreateTempSubdirectory("onnxkeras-quickstart-").FullName;
Directory.SetCurrentDirectory(work);   // the tutorial's relative paths (./weights, ./logs, all_model.h5) land here
var rng = new Random(0);
float[,] Random(int rows, int cols)    // np.random.random((rows, cols)): uniform in [0, 1)
{
    var a = new float[rows, cols];
    for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) a[i, j] = (float)rng.NextDouble();
    return a;
}

Cell("1 模型堆叠 (stacking a model)");
var model = new Sequential();
model.Add(new Dense(32, activation: "relu"));
model.Add(new Dense(32, activation: "relu"));
model.Add(new Dense(10, activation: "softmax"));

Cell("2 网络配置 (configuring layers)");
Show(new Dense(32, activation: "sigmoid"));
Show(new Dense(32, activation: Activations.Sigmoid));                  // activation=tf.sigmoid
Show(new Dense(32, kernelInitializer: "orthogonal"));
Show(new Dense(32, kernelInitializer: new GlorotNormal()));           // tf.keras.initializers.glorot_normal
Show(new Dense(32, kernelRegularizer: Regularizers.L2(0.01)));
Show(new Dense(32, kernelRegularizer: Regularizers.L1(0.01)));

Cell("3.1 设置训练流程 (compile)");
model = new Sequential();
model.Add(new Dense(32, activation: "relu"));
model.Add(new Dense(32, activation: "relu"));
model.Add(new Dense(10, activation: "softmax"));
model.Compile(optimizer: new Adam(0.001), loss: "categorical_crossentropy", metrics: ["categorical_accuracy"]);

Cell("3.2 输入 NumPy 数据 (fit on arrays)");
var trainX = Random(1000, 72);
var trainY = Random(1000, 10);
var valX = Random(200, 72);
var valY = Random(200, 10);
model.Fit(trainX, trainY, epochs: 10, batchSize: 100, validationData: (valX, valY));

Cell("3.3 tf.data 输入数据 (fit on a Dataset)");
var dataset = Dataset.FromTensorSlices(trainX, trainY);
dataset = dataset.Batch(32);
dataset = dataset.Repeat();
var valDataset = Dataset.FromTensorSlices(valX, valY);
valDataset = valDataset.Batch(32);
valDataset = valDataset.Repeat();
model.Fit(dataset, epochs: 10, stepsPerEpoch: 30, validationData: valDataset, validationSteps: 3);

Cell("3.4 评估与预测 (evaluate and predict)");
var testX = Random(1000, 72);
var testY = Random(1000, 10);
PrintList(model.Evaluate(testX, testY, batchSize: 32));
var testData = Dataset.FromTensorSlices(testX, testY);
testData = testData.Batch(32).Repeat();
PrintList(model.Evaluate(testData, steps: 30));
var result = model.Predict(testX, batchSize: 32);
Console.WriteLine(result);                                             // print(result)

Cell("4.1 函数式 API (the functional API)");
var inputX = Keras.Input(shape: [72]);
var hidden1 = new Dense(32, activation: "relu").Apply(inputX);
var hidden2 = new Dense(16, activation: "relu").Apply(hidden1);
var pred = new Dense(10, activation: "softmax").Apply(hidden2);
var functional = new Model(inputs: inputX, outputs: pred);
functional.Compile(optimizer: new Adam(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
functional.Fit(trainX, trainY, batchSize: 32, epochs: 5);

Cell("4.2 模型子类化 (subclassing Model)");
var myModel = new MyModel(numClasses: 10);
myModel.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
myModel.Fit(trainX, trainY, batchSize: 16, epochs: 5);
Console.WriteLine($"{myModel.Name}: compute_output_shape((None, 72)) = {myModel.ComputeOutputShape(new Shape(null, 72))}");

Cell("4.3 自定义层 (a custom layer)");
var custom = new Sequential(new MyLayer(10), new Activation("softmax"));
custom.Compile(optimizer: new RMSprop(0.001), loss: "categorical_crossentropy", metrics: ["accuracy"]);
custom.Fit(trainX, trainY, batchSize: 16, epochs: 5);

Cell("4.4 回调 (callbacks)");
Callback[] callbacks = [new EarlyStopping(patience: 2, monitor: "val_loss"), new TensorBoard(logDir: "./logs")];
custom.Fit(trainX, trainY, batchSize: 16, epochs: 5, callbacks: callbacks, validationData: (valX, valY));
foreach (var c in callbacks) (c as IDisposable)?.Dispose();
Console.WriteLine($"TensorBoard wrote: {string.Join(", ", Directory.GetFiles("logs", "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(work, f)).Order())}");

SavingCells.Run(trainX, trainY, testX);
Directory.SetCurrentDirectory(Path.GetTempPath());
Directory.Delete(work, recursive: true);
Console.WriteLine();
Console.WriteLine("Quickstart completed.");

static void Cell(string title)
{
    Console.WriteLine();
    Console.WriteLine($"== {title}");
}

// A layer's config as Keras's layer.get_config() shows it.
static void Show(Layer layer) => Console.WriteLine(OnnxKeras.Saving.ConfigJson.Write(layer.GetConfig()));

// Keras's evaluate returns [loss, metric...]; the notebook shows that list.
static void PrintList(Dictionary<string, double> logs) =>
    Console.WriteLine($"[{string.Join(", ", logs.Values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]");
