using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// Process-wide settings: the random seed and the device training runs on.
/// </summary>
public static partial class Keras
{
    // Created on first use, after checking that libtorch loads (LibTorchNotFoundException names the package to add).
    private static Generator? generator;
    private static Device? device;

    /// <summary>
    /// A symbolic input of the functional API (Keras's <c>keras.Input</c>): per-sample <paramref name="shape"/> without
    /// the batch dimension. Call layers on it, then make a model with <c>new Model(inputs, outputs)</c>.
    /// </summary>
    /// <example><code>
    /// var input = Keras.Input(shape: [72]);
    /// var hidden = new Dense(32, activation: "relu").Apply(input);
    /// var model = new Models.Model(input, new Dense(10, activation: "softmax").Apply(hidden));
    /// </code></example>
    public static KTensor Input(Shape shape, string? name = null, string dtype = "float32")
    {
        var layer = name is null ? new Layers.InputLayer(shape, dtype) : new Layers.InputLayer(shape, dtype) { Name = name };
        return Layers.Node.Input(layer, shape.WithBatch(), layer.Name);
    }

    /// <summary>
    /// Seeds every source of randomness OnnxKeras uses (weight initialization, dropout, shuffling),
    /// like <c>keras.utils.set_random_seed</c>: the same seed gives the same run.
    /// </summary>
    /// <example><code>Keras.SetRandomSeed(42);</code></example>
    /// <exception cref="LibTorchNotFoundException">The application carries no libtorch; the message names the packages to add.</exception>
    public static void SetRandomSeed(long seed)
    {
        LibTorchNotFoundException.ThrowIfMissing();
        generator = new Generator((ulong)seed);
        torch.manual_seed(seed);
        if (cuda.is_available()) cuda.manual_seed_all(seed);
    }

    /// <summary>The generator random initializers and shuffling draw from (on the CPU, so results do not depend on the device).</summary>
    internal static Generator Generator => generator ?? CreateDefaultGenerator();

    private static Generator CreateDefaultGenerator()
    {
        LibTorchNotFoundException.ThrowIfMissing();
        return generator ??= new Generator((ulong)Environment.TickCount64);
    }

    /// <summary>A seed drawn from the global generator (for components that need their own stream, such as shuffling).</summary>
    internal static long NextSeed()
    {
        using var t = torch.randint(0, int.MaxValue, [1], dtype: ScalarType.Int64, generator: generator);
        return t.item<long>();
    }

    /// <summary>
    /// The device new weights are created on and training runs on: CPU by default. Set it before building
    /// a model, e.g. <c>Keras.Device = Keras.BestDevice();</c>.
    /// </summary>
    public static Device Device
    {
        get => device ?? DefaultDevice();
        set => device = value ?? throw new ArgumentNullException(nameof(value));
    }

    private static Device DefaultDevice()
    {
        LibTorchNotFoundException.ThrowIfMissing();
        return device ??= CPU;
    }

    /// <summary>CUDA device 0 when libtorch reports CUDA available, else the CPU.</summary>
    /// <exception cref="LibTorchNotFoundException">The application carries no libtorch; the message names the packages to add.</exception>
    public static Device BestDevice()
    {
        LibTorchNotFoundException.ThrowIfMissing();
        return cuda.is_available() ? CUDA : CPU;
    }

    /// <summary>
    /// Sets the number of CPU threads libtorch uses for intra-op parallelism; 0 goes back to the automatic count. Without
    /// it (and without <c>OMP_NUM_THREADS</c> in the environment), Fit, Evaluate and Predict choose the count on the CPU
    /// from the CPUs the process may use and the model's largest matrix product at the batch size: one thread for small
    /// models; on Linux at most the CPUs other processes leave free (docs/training.md, "Devices and threads"). An explicit
    /// count always wins.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="intraOp"/> is negative.</exception>
    /// <exception cref="LibTorchNotFoundException">The application carries no libtorch; the message names the packages to add.</exception>
    public static void SetThreads(int intraOp)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(intraOp);
        LibTorchNotFoundException.ThrowIfMissing();
        ExplicitThreads = intraOp;
        ThreadDefaults.Forget();
        if (intraOp > 0) torch.set_num_threads(intraOp);
    }

    /// <summary>
    /// Whether Fit, Evaluate, Predict and TrainOnBatch force a collection of the youngest managed generation between
    /// steps, taking about 0.3 % of the loop's time (default true). TorchSharp frees the native block of each number it
    /// passes to an op only when a collection finalizes it; between rare collections those blocks fragment the heap that
    /// the steps' large tensors reuse, and peak memory climbs step after step (docs/training.md, "Memory between
    /// collections"). Set it to false to leave collections to the runtime.
    /// </summary>
    /// <example><code>Keras.CollectStepGarbage = false;   // the application schedules its own collections</code></example>
    public static bool CollectStepGarbage { get; set; } = true;

    /// <summary>The count given to <see cref="SetThreads"/>; 0 while the automatic count applies.</summary>
    internal static int ExplicitThreads { get; private set; }
}
