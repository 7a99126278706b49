using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Optimizers;
using OnnxKeras.Tests.Losses;
using Xunit;

namespace OnnxKeras.Tests.Metrics;

/// <summary>
/// <c>metrics: ["accuracy"]</c> in Compile resolves to a concrete accuracy the way Keras 3 does
/// (keras/src/trainers/compile_utils.py, get_metric): binary when the model has one output, sparse categorical
/// when the labels have lower rank (or one column against several outputs), else categorical. Tested through
/// Evaluate and TrainOnBatch on one-layer models with fixed weights, so the predictions are known.
/// Each dataset is chosen so that the three kinds of accuracy give different values.
/// </summary>
public class AccuracyResolutionTests
{
    // Dense(3) with kernel [[1, 0, 0], [0, 1, 0]] and bias [0, 0, 0.5]: logits = [x0, x1, 0.5].
    private static readonly float[,] X3 = { { 2f, 0f }, { 0f, 2f }, { 0f, 0f }, { 1f, 0.2f } };
    // logits [2, 0, .5], [0, 2, .5], [0, 0, .5], [1, .2, .5] -> predicted classes 0, 1, 2, 0.
    private static readonly int[] Classes3 = [0, 1, 1, 0]; // correct, correct, wrong, correct -> 3/4
    private static readonly float[,] OneHot3 = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 1, 0 }, { 1, 0, 0 } };

    private static Sequential SoftmaxModel(string activation = "softmax")
    {
        var dense = new Dense(3, activation: activation);
        var model = new Sequential(new InputLayer([2]), dense);
        dense.SetWeights([new NDArray([1f, 0f, 0f, 0f, 1f, 0f], 2, 3), new NDArray([0f, 0f, 0.5f], 3)]);
        return model;
    }

    /// <summary>Mean of -log softmax(logits)[label] over the four samples of <see cref="X3"/>, by hand.</summary>
    private static double CrossentropyOfX3()
    {
        double s0 = Math.Log(Math.Exp(2) + Math.Exp(0) + Math.Exp(0.5)) - 2;   // label 0, logit 2
        double s1 = Math.Log(Math.Exp(0) + Math.Exp(2) + Math.Exp(0.5)) - 2;   // label 1, logit 2
        double s2 = Math.Log(Math.Exp(0) + Math.Exp(0) + Math.Exp(0.5)) - 0;   // label 1, logit 0
        double s3 = Math.Log(Math.Exp(1) + Math.Exp(0.2) + Math.Exp(0.5)) - 1; // label 0, logit 1
        return (s0 + s1 + s2 + s3) / 4;
    }

    [Fact]
    public void CategoricalCrossentropy_WithOneHotLabels_ResolvesToCategoricalAccuracy()
    {
        // Binary accuracy on these softmax outputs would be 5/6, and sparse accuracy does not apply.
        using var model = SoftmaxModel();
        model.Compile(optimizer: new SGD(), loss: "categorical_crossentropy", metrics: ["accuracy"]);

        var eval = model.Evaluate(X3, OneHot3);
        Approx.Equal(3.0 / 4, eval["accuracy"], "Evaluate accuracy");
        Approx.Equal(CrossentropyOfX3(), eval["loss"], "Evaluate loss");

        // TrainOnBatch reports the metrics of the forward pass before its update.
        var train = model.TrainOnBatch(X3, OneHot3);
        Approx.Equal(3.0 / 4, train["accuracy"], "TrainOnBatch accuracy");
        Approx.Equal(CrossentropyOfX3(), train["loss"], "TrainOnBatch loss");
    }

    [Fact]
    public void SparseCrossentropy_WithIntegerLabels_ResolvesToSparseCategoricalAccuracy()
    {
        using var model = SoftmaxModel();
        model.Compile(optimizer: new SGD(), loss: "sparse_categorical_crossentropy", metrics: ["acc"]);

        var eval = model.Evaluate(X3, Classes3);
        Approx.Equal(3.0 / 4, eval["acc"], "Evaluate accuracy");
        Approx.Equal(CrossentropyOfX3(), eval["loss"], "Evaluate loss");

        var train = model.TrainOnBatch(X3, Classes3);
        Approx.Equal(3.0 / 4, train["acc"], "TrainOnBatch accuracy");
    }

    [Fact]
    public void BinaryCrossentropy_WithOneOutput_ResolvesToBinaryAccuracy()
    {
        // Dense(1, sigmoid) with kernel [[1], [-1]], bias [0]: logits x0 - x1 = 2, -2, 0.5, -0.2
        // -> predicted [1, 0, 1, 0] against labels [1, 0, 1, 1]: 3/4.
        // (Categorical accuracy on one column would be 1; sparse accuracy, label == argmax = 0, would be 1/4.)
        var x = new float[,] { { 2f, 0f }, { 0f, 2f }, { 1f, 0.5f }, { 0.2f, 0.4f } };
        var y = new float[,] { { 1 }, { 0 }, { 1 }, { 1 } };
        var dense = new Dense(1, activation: "sigmoid");
        using var model = new Sequential(new InputLayer([2]), dense);
        dense.SetWeights([new NDArray([1f, -1f], 2, 1), new NDArray([0f], 1)]);
        model.Compile(optimizer: new SGD(), loss: "binary_crossentropy", metrics: ["accuracy"]);

        // -log sigmoid(z) = log(1 + e^-z) for label 1; -log(1 - sigmoid(z)) = log(1 + e^z) for label 0.
        double s0 = Math.Log(1 + Math.Exp(-2.0));    // z = 2, label 1
        double s1 = Math.Log(1 + Math.Exp(-2.0));    // z = -2, label 0
        double s2 = Math.Log(1 + Math.Exp(-0.5));    // z = 0.5, label 1
        double s3 = Math.Log(1 + Math.Exp(-(-0.2))); // z = -0.2, label 1
        double loss = (s0 + s1 + s2 + s3) / 4;

        var eval = model.Evaluate(x, y);
        Approx.Equal(3.0 / 4, eval["accuracy"], "Evaluate accuracy");
        Approx.Equal(loss, eval["loss"], "Evaluate loss");

        var train = model.TrainOnBatch(x, y);
        Approx.Equal(3.0 / 4, train["accuracy"], "TrainOnBatch accuracy");
        Approx.Equal(loss, train["loss"], "TrainOnBatch loss");
    }

    [Fact]
    public void BinaryCrossentropy_WithSeveralOutputs_ResolvesToCategoricalAccuracyAsInKeras3()
    {
        // Keras 3 decides by shapes only: multi-label outputs [N, 3] with labels [N, 3] get categorical accuracy.
        // Dense(3, sigmoid), kernel [[1, 0, 0], [0, 1, 0]], bias [0, -1, 0.5]: logits [x0, x1 - 1, 0.5]
        //   x [2, 0]  -> logits [2, -1, 0.5]: argmax 0; thresholded [1, 0, 1]
        //   x [-1, 2] -> logits [-1, 1, 0.5]: argmax 1; thresholded [0, 1, 1]
        // labels [1, 0, 1] (argmax 0) and [0, 1, 0] (argmax 1): categorical accuracy 1;
        // binary accuracy would be (3/3 + 2/3) / 2 = 5/6.
        var x = new float[,] { { 2f, 0f }, { -1f, 2f } };
        var y = new float[,] { { 1, 0, 1 }, { 0, 1, 0 } };
        var dense = new Dense(3, activation: "sigmoid");
        using var model = new Sequential(new InputLayer([2]), dense);
        dense.SetWeights([new NDArray([1f, 0f, 0f, 0f, 1f, 0f], 2, 3), new NDArray([0f, -1f, 0.5f], 3)]);
        model.Compile(optimizer: new SGD(), loss: "binary_crossentropy", metrics: ["accuracy"]);

        Approx.Equal(1.0, model.Evaluate(x, y)["accuracy"]);
    }

    [Fact]
    public void ExplicitlyNamedAccuracies_AreNotResolved()
    {
        // Asking for binary_accuracy on the softmax model gives binary accuracy even with a categorical loss.
        // softmax of the logits: [2, 0, .5] -> [.736, .100, .164]; [0, 2, .5] -> [.100, .736, .164];
        // [0, 0, .5] -> [.274, .274, .452]; [1, .2, .5] -> [.486, .219, .295]. Thresholded at 0.5:
        // [1,0,0], [0,1,0], [0,0,0], [0,0,0] against the one-hot labels: 3/3, 3/3, 2/3, 2/3 correct.
        using var model = SoftmaxModel();
        model.Compile(optimizer: new SGD(), loss: "categorical_crossentropy", metrics: ["binary_accuracy", "categorical_accuracy"]);

        var eval = model.Evaluate(X3, OneHot3);
        Approx.Equal((1.0 + 1.0 + 2.0 / 3 + 2.0 / 3) / 4, eval["binary_accuracy"], "binary_accuracy");
        Approx.Equal(3.0 / 4, eval["categorical_accuracy"], "categorical_accuracy");
    }
}
