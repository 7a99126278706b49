using Google.Protobuf;
using OnnxKeras.Export.Onnx;
using static OnnxKeras.Inference.Tests.OnnxBuilder;

namespace OnnxKeras.Inference.Tests;

/// <summary>The hand-built models the tests use, and their hand-computed behaviour.</summary>
internal static class TestModels
{
    /// <summary>Dense kernel [3, 2], row-major (Keras layout: [in, out]).</summary>
    public static readonly float[] W = [1f, 0f, 0f, 1f, 1f, -1f];
    public static readonly float[] B = [0f, 0.5f];

    /// <summary>x [batch, 3] -> Gemm(W, B) -> Relu -> Softmax(axis -1) -> y [batch, 2]: a Dense(2, relu) + softmax.</summary>
    public static ModelProto DenseProto(long irVersion = 8) => Model(Graph("dense",
        [
            Node("Gemm", ["x", "W", "B"], ["h"]),
            Node("Relu", ["h"], ["r"]),
            Node("Softmax", ["r"], ["y"], IntAttr("axis", -1)),
        ],
        [Value("x", FloatType, "batch", 3)],
        [Value("y", FloatType, "batch", 2)],
        [FloatInit("W", [3, 2], W), FloatInit("B", [2], B)]), irVersion);

    public static byte[] Dense() => DenseProto().ToByteArray();

    /// <summary>The same Dense model computed independently in double precision.</summary>
    public static double[] DenseReference(float[] x)
    {
        int rows = x.Length / 3;
        var y = new double[rows * 2];
        for (int r = 0; r < rows; r++)
        {
            var h = new double[2];
            for (int j = 0; j < 2; j++)
            {
                double s = B[j];
                for (int k = 0; k < 3; k++) s += (double)x[r * 3 + k] * W[k * 2 + j];
                h[j] = Math.Max(s, 0);
            }
            double m = Math.Max(h[0], h[1]);
            double e0 = Math.Exp(h[0] - m), e1 = Math.Exp(h[1] - m);
            y[r * 2] = e0 / (e0 + e1);
            y[r * 2 + 1] = e1 / (e0 + e1);
        }
        return y;
    }

    /// <summary>a, b [batch, 2] -> sum = a + b, prod = a * b (both [batch, 2]).</summary>
    public static byte[] AddMul() => Model(Graph("add_mul",
        [Node("Add", ["a", "b"], ["sum"]), Node("Mul", ["a", "b"], ["prod"])],
        [Value("a", FloatType, "batch", 2), Value("b", FloatType, "batch", 2)],
        [Value("sum", FloatType, "batch", 2), Value("prod", FloatType, "batch", 2)])).ToByteArray();

    public const string KerasConfigJson = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"tiny\"}}";

    /// <summary>The Dense model with model-level metadata.</summary>
    public static byte[] DenseWithMetadata()
    {
        var m = DenseProto();
        m.ProducerName = "onnxkeras";
        m.ProducerVersion = "0.1.0";
        m.Domain = "ai.onnxkeras.test";
        m.ModelVersion = 3;
        m.DocString = "a tiny dense model";
        m.MetadataProps.Add(new StringStringEntryProto { Key = "keras_config", Value = KerasConfigJson });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "keras_version", Value = "3.10.0" });
        return m.ToByteArray();
    }

    /// <summary>x [2, 3] (fixed) -> Relu -> y [2, 3].</summary>
    public static byte[] FixedRelu() => Model(Graph("fixed",
        [Node("Relu", ["x"], ["y"])],
        [Value("x", FloatType, 2, 3)],
        [Value("y", FloatType, 2, 3)])).ToByteArray();

    /// <summary>x [batch, 2, 2] -> Relu -> y [batch, 2, 2].</summary>
    public static byte[] Rank3Relu() => Model(Graph("rank3",
        [Node("Relu", ["x"], ["y"])],
        [Value("x", FloatType, "batch", 2, 2)],
        [Value("y", FloatType, "batch", 2, 2)])).ToByteArray();

    /// <summary>
    /// x [batch, 2] -> y = x, rows [batch, 1] = the number of rows ONNX Runtime was given in this run
    /// (Shape(x)[0] broadcast over a zero column): shows how Predict split the input.
    /// </summary>
    public static byte[] RowCounter() => Model(Graph("row_counter",
        [
            Node("Identity", ["x"], ["y"]),
            Node("Shape", ["x"], ["s"]),
            Node("Gather", ["s", "zero_index"], ["n"], IntAttr("axis", 0)),
            Node("Cast", ["n"], ["nf"], IntAttr("to", FloatType)),
            Node("ReduceSum", ["x", "axis1"], ["rs"], IntAttr("keepdims", 1)),
            Node("Mul", ["rs", "zero"], ["z"]),
            Node("Add", ["z", "nf"], ["rows"]),
        ],
        [Value("x", FloatType, "batch", 2)],
        [Value("y", FloatType, "batch", 2), Value("rows", FloatType, "batch", 1)],
        [Int64Init("zero_index", [1], 0), Int64Init("axis1", [1], 1), FloatInit("zero", [], 0f)])).ToByteArray();

    /// <summary>x [batch, 2] -> column sums s [2] (ReduceSum over axis 0): the output has no batch dimension.</summary>
    public static byte[] ColumnSum() => Model(Graph("column_sum",
        [Node("ReduceSum", ["x", "axis0"], ["s"], IntAttr("keepdims", 0))],
        [Value("x", FloatType, "batch", 2)],
        [Value("s", FloatType, 2)],
        [Int64Init("axis0", [1], 0)])).ToByteArray();

    /// <summary>x [batch, 3] -> ArgMax(axis 1) -> idx [batch] (int64 output).</summary>
    public static byte[] ArgMax() => Model(Graph("argmax",
        [Node("ArgMax", ["x"], ["idx"], IntAttr("axis", 1), IntAttr("keepdims", 0))],
        [Value("x", FloatType, "batch", 3)],
        [Value("idx", Int64Type, "batch")])).ToByteArray();

    /// <summary>ids [batch, 2] (int64) -> Cast to float -> y [batch, 2].</summary>
    public static byte[] CastInt64() => Model(Graph("cast",
        [Node("Cast", ["ids"], ["y"], IntAttr("to", FloatType))],
        [Value("ids", Int64Type, "batch", 2)],
        [Value("y", FloatType, "batch", 2)])).ToByteArray();

    /// <summary>x [batch, 2] -> y = Relu(x) [batch, 2] plus nz = Cast(NonZero(x), float) [2, ?]: nz's second
    /// dimension (the number of non-zero elements) depends on the values, so a binding cannot preallocate it.</summary>
    public static byte[] ReluAndNonZero() => Model(Graph("relu_nonzero",
        [Node("Relu", ["x"], ["y"]), Node("NonZero", ["x"], ["nz64"]), Node("Cast", ["nz64"], ["nz"], IntAttr("to", FloatType))],
        [Value("x", FloatType, "batch", 2)],
        [Value("y", FloatType, "batch", 2), Value("nz", FloatType, 2, null)])).ToByteArray();

    public static InferenceOptions Cpu(Action<string>? log = null, int? maxBatchSize = null) =>
        new() { IntraOpThreads = 1, Log = log, MaxBatchSize = maxBatchSize };
}

/// <summary>A temporary folder removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "onnxkeras-inf-" + Guid.NewGuid().ToString("N"));

    public string File(string name, byte[] content)
    {
        var p = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllBytes(p, content);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
