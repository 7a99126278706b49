using OnnxKeras.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

public static partial class Keras
{
    /// <summary>The counterpart of <c>keras.utils</c>: helpers for preparing data.</summary>
    public static partial class Utils
    {
        /// <summary>
        /// One-hot rows for class labels (Keras's <c>keras.utils.to_categorical(x, num_classes)</c>): row <c>i</c> is all
        /// zeros but a one at column <c>labels[i]</c>. Without <paramref name="numClasses"/> it is the largest label + 1.
        /// </summary>
        /// <exception cref="ArgumentException">No labels (and no <paramref name="numClasses"/>),
        /// <paramref name="numClasses"/> below 1, or a label outside [0, numClasses).</exception>
        /// <example><code>float[,] y = Keras.Utils.ToCategorical(new[] { 0, 2, 1 }, numClasses: 3);   // [[1,0,0],[0,0,1],[0,1,0]]</code></example>
        public static float[,] ToCategorical(int[] labels, int? numClasses = null)
        {
            ArgumentNullException.ThrowIfNull(labels);
            return ToCategorical(Array.ConvertAll(labels, v => (long)v), numClasses);
        }

        /// <summary>As <see cref="ToCategorical(int[], int?)"/> for <c>long</c> labels.</summary>
        /// <exception cref="ArgumentException">As <see cref="ToCategorical(int[], int?)"/>.</exception>
        /// <example><code>float[,] y = Keras.Utils.ToCategorical(new long[] { 1, 0 });   // [[0,1],[1,0]]</code></example>
        public static float[,] ToCategorical(long[] labels, int? numClasses = null)
        {
            ArgumentNullException.ThrowIfNull(labels);
            var (flat, classes) = OneHot(labels, numClasses);
            var result = new float[labels.Length, classes];
            Buffer.BlockCopy(flat, 0, result, 0, flat.Length * sizeof(float));
            return result;
        }

        /// <summary>
        /// <see cref="ToCategorical(int[], int?)"/> for labels of any shape (integers, or floating-point whole numbers):
        /// the result has the labels' shape plus a last axis of <c>numClasses</c>, except that a last axis of size 1 is
        /// replaced (Keras's rule: labels of shape (n, 1) give (n, numClasses)).
        /// </summary>
        /// <exception cref="ArgumentException">As <see cref="ToCategorical(int[], int?)"/>, or a label that is not a whole number.</exception>
        /// <example><code>NDArray y = Keras.Utils.ToCategorical(new long[,] { { 1 }, { 0 } });   // shape (2, 2)</code></example>
        public static NDArray ToCategorical(Array labels, int? numClasses = null)
        {
            ArgumentNullException.ThrowIfNull(labels);
            using var t = TensorConvert.ToTensor(labels, nameof(labels));
            var (flat, classes) = OneHot(Flatten(t), numClasses);
            return new NDArray(flat, [.. OutputShape(t.shape), classes]);
        }

        /// <summary>
        /// <see cref="ToCategorical(Array, int?)"/> for a tensor of labels: a new float32 tensor on the labels' device,
        /// owned by the caller.
        /// </summary>
        /// <exception cref="ArgumentException">As <see cref="ToCategorical(Array, int?)"/>.</exception>
        /// <example><code>var y = Keras.Utils.ToCategorical(torch.tensor(new long[] { 2, 0 }), numClasses: 3);</code></example>
        public static Tensor ToCategorical(Tensor labels, int? numClasses = null)
        {
            ArgumentNullException.ThrowIfNull(labels);
            var (flat, classes) = OneHot(Flatten(labels), numClasses);
            return tensor(flat, [.. OutputShape(labels.shape), classes], ScalarType.Float32).to(labels.device);
        }

        private static long[] OutputShape(long[] shape) => shape.Length > 1 && shape[^1] == 1 ? shape[..^1] : shape;

        private static long[] Flatten(Tensor labels)
        {
            using var cpu = labels.detach().cpu().reshape(-1);
            if (cpu.is_floating_point())
            {
                var values = cpu.to_type(ScalarType.Float64).data<double>().ToArray();
                int bad = Array.FindIndex(values, v => v != Math.Floor(v) || double.IsInfinity(v));
                if (bad >= 0) throw new ArgumentException($"to_categorical: labels must be whole numbers; label {bad} is {values[bad]}.", nameof(labels));
                return Array.ConvertAll(values, v => (long)v);
            }
            if (cpu.dtype == ScalarType.Bool) throw new ArgumentException("to_categorical: labels must be integers; got bool.", nameof(labels));
            using var int64 = cpu.to_type(ScalarType.Int64);
            return int64.data<long>().ToArray();
        }

        private static (float[] Flat, int Classes) OneHot(long[] labels, int? numClasses)
        {
            if (numClasses is < 1) throw new ArgumentException($"to_categorical: numClasses must be at least 1; got {numClasses}.", nameof(numClasses));
            if (numClasses is null && labels.Length == 0)
                throw new ArgumentException("to_categorical: no labels, so the number of classes is unknown; pass numClasses.", nameof(labels));
            long classes = numClasses ?? labels.Max() + 1;
            for (int i = 0; i < labels.Length; i++)
            {
                if (labels[i] < 0 || labels[i] >= classes)
                    throw new ArgumentException($"to_categorical: label {i} is {labels[i]}, outside [0, {classes}).", nameof(labels));
            }
            if (classes > int.MaxValue) throw new ArgumentException($"to_categorical: {classes} classes is too many.", nameof(labels));
            var flat = new float[checked(labels.Length * (int)classes)];
            for (int i = 0; i < labels.Length; i++) flat[i * classes + labels[i]] = 1;
            return (flat, (int)classes);
        }
    }
}
