using System.Globalization;
using static TorchSharp.torch;

namespace OnnxKeras.Models.Jit;

/// <summary>
/// The TorchScript form of each op the compiled training step supports: one fixed template per <see cref="OpInfo"/>
/// record, each the same libtorch call (same kernel, same arguments) that the op's eager implementation makes, so the
/// compiled step computes what the eager one does. Every builtin used here is compiled by the tests: a TorchScript
/// compile error aborts the process, so the script must be right by construction. An op without a template (or with
/// arguments its template does not cover) makes the model not compilable.
/// </summary>
internal static class ScriptOps
{
    /// <summary>
    /// The TorchScript expression of <paramref name="op"/> on the value names <paramref name="a"/> (its inputs in order;
    /// <paramref name="inputs"/> hold their example data), or null when the op has no template for these arguments.
    /// </summary>
    public static string? Expression(OpInfo op, string[] a, IReadOnlyList<KTensor> inputs)
    {
        return op switch
        {
            LinearOp when a.Length == 3 && inputs[0].Rank == 2 => $"torch.addmm({a[2]}, {a[0]}, {a[1]})",
            LinearOp when a.Length == 3 => $"torch.matmul({a[0]}, {a[1]}) + {a[2]}",
            LinearOp => $"torch.matmul({a[0]}, {a[1]})",
            MatMulOp => $"torch.matmul({a[0]}, {a[1]})",
            ReluOp => $"torch.relu({a[0]})",
            LeakyReluOp l => $"torch.leaky_relu({a[0]}, {Lit(l.NegativeSlope)})",
            SigmoidOp => $"torch.sigmoid({a[0]})",
            TanhOp => $"torch.tanh({a[0]})",
            SoftmaxOp s when s.Axes.Length == 1 => $"torch.softmax({a[0]}, {s.Axes[0]})",
            LogSoftmaxOp s => $"torch.log_softmax({a[0]}, {s.Axis})",
            EluOp e => $"torch.elu({a[0]}, {Lit(e.Alpha)})",
            SeluOp => $"torch.selu({a[0]})",
            GeluOp g => g.Approximate ? $"torch.gelu({a[0]}, approximate='tanh')" : $"torch.gelu({a[0]})",
            SiluOp => $"torch.silu({a[0]})",
            SoftplusOp => $"torch.softplus({a[0]}, 1, 20)",
            AddOp => $"{a[0]} + {a[1]}",
            AddScalarOp s => $"{a[0]} + {Lit(s.Scalar)}",
            SubtractOp => $"{a[0]} - {a[1]}",
            MultiplyOp => $"{a[0]} * {a[1]}",
            MultiplyScalarOp s => $"{a[0]} * {Lit(s.Scalar)}",
            DivideOp => $"{a[0]} / {a[1]}",
            NegativeOp => $"-{a[0]}",
            MaximumOp => $"torch.maximum({a[0]}, {a[1]})",
            MinimumOp => $"torch.minimum({a[0]}, {a[1]})",
            AbsOp => $"torch.abs({a[0]})",
            SquareOp => $"torch.square({a[0]})",
            SqrtOp => $"torch.sqrt({a[0]})",
            ExpOp => $"torch.exp({a[0]})",
            LogOp => $"torch.log({a[0]})",
            Log1pOp => $"torch.log1p({a[0]})",
            PowerOp p => $"torch.pow({a[0]}, {Lit(p.Exponent)})",
            ClipOp c => Clip(a[0], c.Min, c.Max),
            SumOp { Axis: int axis } s => $"torch.sum({a[0]}, [{axis}], {Bool(s.KeepDims)})",
            SumOp => $"torch.sum({a[0]})",
            MeanOp { Axis: int axis } m => $"torch.mean({a[0]}, [{axis}], {Bool(m.KeepDims)})",
            MeanOp => $"torch.mean({a[0]})",
            ReshapeOp r => $"torch.reshape({a[0]}, {List(r.Shape)})",
            FlattenOp => $"torch.flatten({a[0]}, 1)",
            TransposeOp t => $"{a[0]}.permute({List(t.Perm)})",
            ExpandDimsOp e => $"torch.unsqueeze({a[0]}, {e.Axis})",
            ConcatenateOp c => $"torch.cat([{string.Join(", ", a)}], {c.Axis})",
            MomentsMeanOp m => $"torch.var_mean({a[0]}, {List(m.Axes)}, unbiased=False, keepdim={Bool(m.KeepDims)})[1]",
            MomentsVarianceOp m => $"torch.var_mean({a[0]}, {List(m.Axes)}, unbiased=False, keepdim={Bool(m.KeepDims)})[0]",
            BatchNormalizationOp b => BatchNormalization(b, a, inputs[0].Rank),
            ConvOp c => Conv(c, a, inputs),
            MaxPoolOp p => Pool(p.PoolSize, p.Strides, p.Padding, a[0], inputs[0], max: true),
            AveragePoolOp p => Pool(p.PoolSize, p.Strides, p.Padding, a[0], inputs[0], max: false),
            GlobalAveragePoolOp g when inputs[0].Rank >= 3 => $"torch.mean({a[0]}, {List(SpatialAxes(inputs[0].Rank))}, {Bool(g.KeepDims)})",
            GlobalMaxPoolOp g when inputs[0].Rank >= 3 => $"torch.amax({a[0]}, {List(SpatialAxes(inputs[0].Rank))}, {Bool(g.KeepDims)})",
            _ => null,
        };
    }

    /// <summary>Ops.Clip's eager rule: bounds beyond float32's range are no bound.</summary>
    private static string Clip(string x, double min, double max)
    {
        bool hasMin = min > float.MinValue, hasMax = max < float.MaxValue;
        if (hasMin && hasMax) return $"torch.clamp({x}, {Lit(min)}, {Lit(max)})";
        if (hasMin) return $"torch.clamp_min({x}, {Lit(min)})";
        return hasMax ? $"torch.clamp_max({x}, {Lit(max)})" : x;
    }

    /// <summary>Ops.BatchNormalization's eager formula: (x - mean) * (rsqrt(variance + epsilon) * scale) + offset, vectors along the axis.</summary>
    private static string BatchNormalization(BatchNormalizationOp b, string[] a, int rank)
    {
        var shape = Enumerable.Repeat(1L, rank).ToArray();
        shape[b.Axis] = -1;
        string s = List(shape);
        string inv = $"torch.rsqrt({a[2]}.reshape({s}) + {Lit(b.Epsilon)})";
        int next = 3;
        string? offset = b.HasOffset ? a[next++] : null;
        if (b.HasScale) inv = $"({inv} * {a[next]}.reshape({s}))";
        string y = $"({a[0]} - {a[1]}.reshape({s})) * {inv}";
        return offset is null ? y : $"{y} + {offset}.reshape({s})";
    }

    /// <summary>Ops.Conv for 2 spatial axes with symmetric padding (valid, or same when it splits evenly): libtorch's conv2d on
    /// channels-last views, as ConvEager calls it. Other forms have no template.</summary>
    private static string? Conv(ConvOp c, string[] a, IReadOnlyList<KTensor> inputs)
    {
        var x = inputs[0].Value;
        var k = inputs[1].Value;
        if (x.dim() != 4 || k.dim() != 4 || x.shape[^1] % k.shape[^2] != 0) return null;
        var s = PerAxis(c.Strides);
        var d = PerAxis(c.DilationRate);
        if (s is null || d is null) return null;
        var pads = new long[2];
        for (int i = 0; i < 2; i++)
        {
            if (c.Padding == "valid") continue;
            if (c.Padding != "same") return null;
            var (before, after) = Ops.SamePadding(x.shape[1 + i], k.shape[i], s[i], d[i]);
            if (before != after) return null;
            pads[i] = before;
        }
        long groups = x.shape[^1] / k.shape[^2];
        string bias = a.Length == 3 ? a[2] : "None";
        return $"torch.conv2d({a[0]}.permute([0, 3, 1, 2]), {a[1]}.permute([3, 2, 0, 1]), {bias}, {List(s)}, {List(pads)}, {List(d)}, {groups})" +
            ".permute([0, 2, 3, 1])";
    }

    /// <summary>Ops.MaxPool / Ops.AveragePool for 2 spatial axes with symmetric padding, as Pool calls libtorch.</summary>
    private static string? Pool(int[] poolSize, int[]? strides, string padding, string a, KTensor input, bool max)
    {
        var x = input.Value;
        if (x.dim() != 4) return null;
        var k = PerAxis(poolSize);
        var s = strides is null ? k : PerAxis(strides);
        if (k is null || s is null) return null;
        var pads = new long[2];
        for (int i = 0; i < 2; i++)
        {
            if (padding == "valid") continue;
            if (padding != "same") return null;
            var (before, after) = Ops.SamePadding(x.shape[1 + i], k[i], s[i]);
            if (before != after) return null;
            pads[i] = before;
        }
        string xf = $"{a}.permute([0, 3, 1, 2])";
        string pooled = max
            ? $"torch.max_pool2d({xf}, {List(k)}, {List(s)}, {List(pads)}, [1, 1], False)"
            : $"torch.avg_pool2d({xf}, {List(k)}, {List(s)}, {List(pads)}, False, False, None)";
        return pooled + ".permute([0, 2, 3, 1])";
    }

    /// <summary>One positive value per spatial axis (2 axes), from 1 or 2 given values (null given: 1).</summary>
    private static long[]? PerAxis(int[]? values)
    {
        if (values is null) return [1, 1];
        if (values.Length is not (1 or 2) || values.Any(v => v <= 0)) return null;
        return values.Length == 2 ? [values[0], values[1]] : [values[0], values[0]];
    }

    private static long[] SpatialAxes(int rank) => Enumerable.Range(1, rank - 2).Select(i => (long)i).ToArray();

    /// <summary>A TorchScript float literal that parses back to exactly <paramref name="value"/>.</summary>
    public static string Lit(double value)
    {
        if (double.IsNaN(value)) return "float('nan')";
        if (double.IsInfinity(value)) return value > 0 ? "float('inf')" : "float('-inf')";
        string s = value.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    /// <summary>A TorchScript int list.</summary>
    public static string List(IEnumerable<long> values) => "[" + string.Join(", ", values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]";

    private static string Bool(bool b) => b ? "True" : "False";

    /// <summary>The dtypes a compiled step takes for tensors (others stay eager).</summary>
    public static bool Floating(Tensor t) => t.dtype is ScalarType.Float32 or ScalarType.Float64;
}
