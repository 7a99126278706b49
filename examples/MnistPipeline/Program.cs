using System.Diagnostics;
using OnnxKeras;
using OnnxKeras.Callbacks;
using OnnxKeras.Datasets;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

// The main job: trains an MLP on the bundled MNIST subset (8,000 train / 2,000 test) and reports the result.
Keras.SetThreads(Environment.ProcessorCount);
Keras.SetRandomSeed(42);
var clock = Stopwatch.StartNew();
var data = Mnist.Load();
Console.WriteLine($"MNIST subset: {data.TrainLabels.Length:N0} training and {data.TestLabels.Length:N0} test images ({clock.ElapsedMilliseconds} ms to load)");

var model = new Sequential(
    new InputLayer([784]),
    new Dense(128, activation: "relu"),
    new Dropout(0.1),
    new Dense(10, activation: "softmax"));
model.Summary();
model.Compile(optimizer: new Adam(0.001), loss: "sparse_categorical_crossentropy", metrics: ["accuracy"]);

var history = model.Fit(data.TrainImages, data.TrainLabels, epochs: 8, batchSize: 32, validationSplit: 0.1,
    callbacks: [new EarlyStopping(monitor: "val_loss", patience: 2, restoreBestWeights: true, verbose: 1)]);

var test = model.Evaluate(data.TestImages, data.TestLabels);
var predictions = model.Predict(data.TestImages);
int[] predicted = predictions.ArgMax();

Console.WriteLine();
Console.WriteLine("Report");
Console.WriteLine($"  epochs run:      {history.Epoch.Count}");
Console.WriteLine($"  final loss:      {history["loss"][^1]:0.0000} (val {history["val_loss"][^1]:0.0000})");
Console.WriteLine($"  test loss:       {test["loss"]:0.0000}");
Console.WriteLine($"  test accuracy:   {test["accuracy"]:P2}");
Console.WriteLine($"  first 10 test predictions: {string.Join(" ", predicted.Take(10))} (labels {string.Join(" ", data.TestLabels.Take(10))})");
Console.WriteLine($"  total time:      {clock.Elapsed.TotalSeconds:0.0} s");
