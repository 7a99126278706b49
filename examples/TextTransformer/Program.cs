using System.Diagnostics;
using System.Runtime.InteropServices;
using OnnxKeras;
using OnnxKeras.Datasets;
using OnnxKeras.Examples.TextTransformer;
using OnnxKeras.Export;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;

// A small Transformer encoder that tells spam from ham e-mail (the bundled SpamAssassin subset: 1,600 train, 400 test),
// after Keras's "Text classification with Transformer" example: token + position embedding, one encoder block
// (multi-head self-attention and a feed-forward network, each with a residual connection and layer normalization),
// average over the sequence, a sigmoid output. Then: ONNX export, the file checked in ONNX Runtime against Predict,
// and served by `onnxkeras serve` (Open Inference Protocol over HTTP), whose answers are checked the same way.
//
//   dotnet run -c Release --project examples/TextTransformer [-- --quick] [--out DIR]
//
// --quick trains on 256 messages for one epoch (the end-to-end test); the full run takes about 15 s on 2 cores.
// Writes text_transformer.keras, text_transformer.onnx and vocabulary.txt into DIR (default: artifacts/text_transformer
// under the repository root, not tracked).
bool quick = args.Contains("--quick");
int outIndex = Array.IndexOf(args, "--out");
string outDir = Directory.CreateDirectory(outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : DefaultOutputFolder()).FullName;

// One libtorch thread: the run is sized for it, and its timing does not depend on what else the machine runs.
Keras.SetThreads(1);
Keras.SetRandomSeed(42);
const int SequenceLength = 200;  // tokens per message: the median message has 133 words, the longest 205
const int VocabularySize = 10000; // ids 0 (padding), 1 (out of vocabulary), the 9,998 most frequent training words
const int EmbedDim = 32, NumHeads = 2, FeedForwardDim = 64;
int epochs = quick ? 1 : 6;
var clock = Stopwatch.StartNew();

var data = SpamAssassin.Load();
string[] trainTexts = data.TrainTexts, testTexts = data.TestTexts;
int[] trainLabels = data.TrainLabels, testLabels = data.TestLabels;
if (quick) (trainTexts, trainLabels, testTexts, testLabels) = (trainTexts[..256], trainLabels[..256], testTexts[..64], testLabels[..64]);
// Keras's TextVectorization runs in .NET before the tensor model (libtorch and ONNX models hold no strings): lower-case,
// strip punctuation, split on whitespace, look the words up in the vocabulary adapted on the training messages
// ("" = 0 pads, "[UNK]" = 1), cut or pad to SequenceLength.
var vectorize = new TextVectorization(maxTokens: VocabularySize, outputSequenceLength: SequenceLength);
vectorize.Adapt(trainTexts);
var trainX = Vectorize(vectorize, trainTexts);
var testX = Vectorize(vectorize, testTexts);
var trainY = ToColumn(trainLabels);
var testY = ToColumn(testLabels);
var vocabulary = vectorize.GetVocabulary();
Console.WriteLine($"SpamAssassin subset: {trainTexts.Length:N0} training and {testTexts.Length:N0} test messages, " +
    $"vocabulary {vocabulary.Count:N0} words, {SequenceLength} tokens per message ({clock.ElapsedMilliseconds} ms)");

// ---- the model ----------------------------------------------------------------------------------------------
var tokens = Keras.Input([SequenceLength], name: "tokens");   // token ids (float32, as every ONNX input of ours)
var x = new TokenAndPositionEmbedding(SequenceLength, VocabularySize, EmbedDim).Apply(tokens);
x = TransformerBlock(x);
x = new GlobalAveragePooling1D().Apply(x);
x = new Dropout(0.1).Apply(x);
x = new Dense(20, activation: "relu").Apply(x);
x = new Dropout(0.1).Apply(x);
var probability = new Dense(1, activation: "sigmoid") { Name = "spam_probability" }.Apply(x);
var model = new Model(tokens, probability) { Name = "text_transformer" };
model.Summary();
model.Compile(optimizer: new Adam(0.001), loss: "binary_crossentropy", metrics: ["accuracy"]);

var trainClock = Stopwatch.StartNew();
var history = model.Fit(trainX, trainY, epochs: epochs, batchSize: 32, validationSplit: quick ? 0.0 : 0.1);
double trainSeconds = trainClock.Elapsed.TotalSeconds;
var test = model.Evaluate(testX, testY);
float[] predicted = model.Predict(testX).Data;

// ---- the Keras file: saved and reloaded (the custom embedding layer is registered, so LoadModel rebuilds it) ----------
string kerasPath = Path.Combine(outDir, "text_transformer.keras");
model.Save(kerasPath);
bool reloadedSame;
using (var reloaded = Model.LoadModel(kerasPath)) reloadedSame = reloaded.Predict(testX).Data.AsSpan().SequenceEqual(predicted);

// ---- ONNX export and the exported file in ONNX Runtime -------------------------------------------------------
string onnxPath = Path.Combine(outDir, "text_transformer.onnx");
var exported = model.ExportOnnx(onnxPath, new OnnxExportOptions { Opset = 17, Verify = true });
string vocabularyPath = Path.Combine(outDir, "vocabulary.txt");
File.WriteAllLines(vocabularyPath, vocabulary); // line i is the word of id i: what a client needs to vectorize its texts
double onnxDiff;
double onnxAccuracy;
using (var onnx = OnnxModel.Load(onnxPath, new InferenceOptions { IntraOpThreads = 1 }))
{
    var scores = onnx.Predict(testX);
    onnxDiff = MaxAbsDiff(predicted, [.. scores.Cast<float>()]);
    onnxAccuracy = Accuracy(scores.Cast<float>().ToArray(), testLabels);
}

// ---- served by `onnxkeras serve` -----------------------------------------------------------------------------
// The first two ham and the first two spam messages of the test split.
int[] picked = [.. Enumerable.Range(0, testLabels.Length).Where(i => testLabels[i] == 0).Take(2),
                .. Enumerable.Range(0, testLabels.Length).Where(i => testLabels[i] == 1).Take(2)];
string[] samples = [.. picked.Select(i => testTexts[i])];
// The client side: a TextVectorization rebuilt from vocabulary.txt alone gives the same ids as the adapted one.
var client = new TextVectorization(outputSequenceLength: SequenceLength, vocabulary: File.ReadAllLines(vocabularyPath));
var sampleX = Vectorize(client, samples);
bool sameIds = sampleX.Cast<float>().SequenceEqual(Vectorize(vectorize, samples).Cast<float>());
float[] sampleLocal = model.Predict(sampleX).Data;
float[] served = await Serving.PredictOverHttpAsync(onnxPath, sampleX);
double servedDiff = MaxAbsDiff(sampleLocal, served);

Console.WriteLine();
Console.WriteLine("Report");
Console.WriteLine($"  trained {history.Epoch.Count} epochs on {trainTexts.Length:N0} messages in {trainSeconds:0.0} s (1 libtorch thread)");
Console.WriteLine($"  test accuracy {test["accuracy"]:P2} (loss {test["loss"]:0.0000}) on {testTexts.Length} messages; ONNX Runtime: {onnxAccuracy:P2}");
Console.WriteLine($"  {kerasPath}: {new FileInfo(kerasPath).Length:N0} bytes, reloaded predictions identical: {reloadedSame}");
Console.WriteLine($"  {onnxPath}: {exported}");
Console.WriteLine($"  export parity: max |ONNX - Predict| over the test split = {onnxDiff:E2}");
for (int i = 0; i < samples.Length; i++)
{
    string shown = samples[i].Length > 60 ? samples[i][..57] + "..." : samples[i];
    string label = testLabels[picked[i]] == 1 ? "spam" : "ham ";
    Console.WriteLine($"  served: P(spam) = {served[i]:0.0000} (Predict {sampleLocal[i]:0.0000})  {label} \"{shown}\"");
}
Console.WriteLine($"  client vectorization from vocabulary.txt gives the training ids: {sameIds}");
Console.WriteLine($"  serving parity: max |served - Predict| over {samples.Length} messages = {servedDiff:E2}");
Console.WriteLine($"  total time: {clock.Elapsed.TotalSeconds:0.0} s");
const double Tolerance = 1e-5;
if (!(onnxDiff <= Tolerance && servedDiff <= Tolerance && reloadedSame && sameIds))
{
    Console.Error.WriteLine($"error: parity above {Tolerance:E0}, the reloaded .keras model predicts differently or the client's ids differ");
    return 1;
}
Console.WriteLine("TextTransformer completed.");
return 0;

// One Transformer encoder block (Keras example's TransformerBlock): self-attention and a feed-forward network, each
// followed by dropout, a residual connection and layer normalization (epsilon 1e-6).
KTensor TransformerBlock(KTensor input)
{
    var attention = new MultiHeadAttention(numHeads: NumHeads, keyDim: EmbedDim).Apply(input, input); // query = value = key
    attention = new Dropout(0.1).Apply(attention);
    var x1 = new LayerNormalization(epsilon: 1e-6).Apply(new Add().Apply([input, attention]));
    var ff = new Dense(FeedForwardDim, activation: "relu").Apply(x1);
    ff = new Dense(EmbedDim).Apply(ff);
    ff = new Dropout(0.1).Apply(ff);
    return new LayerNormalization(epsilon: 1e-6).Apply(new Add().Apply([x1, ff]));
}

// TextVectorization gives int64 ids [texts, SequenceLength]; the model's input is float32 (as our ONNX inputs are).
static float[,] Vectorize(TextVectorization layer, string[] texts)
{
    using var raw = layer.Call(texts).Value;
    using var ids = raw.to(TorchSharp.torch.ScalarType.Float32, TorchSharp.torch.CPU);
    var rows = new float[ids.shape[0], ids.shape[1]];
    ids.data<float>().CopyTo(MemoryMarshal.CreateSpan(ref rows[0, 0], rows.Length));
    return rows;
}

static float[,] ToColumn(int[] labels)
{
    var column = new float[labels.Length, 1];
    for (int i = 0; i < labels.Length; i++) column[i, 0] = labels[i];
    return column;
}

static double MaxAbsDiff(float[] a, float[] b)
{
    if (a.Length != b.Length) throw new InvalidOperationException($"{a.Length} predictions against {b.Length}");
    double max = 0;
    for (int i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs((double)a[i] - b[i]));
    return max;
}

// As Keras's binary accuracy: predicted class 1 when the probability is above 0.5.
static double Accuracy(float[] probabilities, int[] labels) =>
    probabilities.Zip(labels, (p, y) => (p > 0.5f ? 1 : 0) == y ? 1.0 : 0.0).Average();

static string DefaultOutputFolder()
{
    // artifacts/text_transformer under the repository root (not tracked), else under the current folder.
    for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "OnnxKeras.sln"))) return Path.Combine(dir.FullName, "artifacts", "text_transformer");
    }
    return Path.Combine("artifacts", "text_transformer");
}
