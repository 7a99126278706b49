using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

// keras.random: random tensors (eager only: layers that draw noise in training are identities at inference).
public static partial class Ops
{
    /// <summary>
    /// Float32 normal noise of <paramref name="shape"/> with <paramref name="mean"/> and <paramref name="stddev"/> on
    /// <paramref name="device"/> (default <see cref="Keras.Device"/>), drawn on the CPU from <paramref name="generator"/>
    /// (default the global generator seeded by <see cref="Keras.SetRandomSeed"/>) so results do not depend on the device.
    /// </summary>
    public static KTensor RandomNormal(long[] shape, double mean = 0.0, double stddev = 1.0, Generator? generator = null, Device? device = null)
    {
        var noise = randn(shape, ScalarType.Float32, CPU, generator: generator ?? Keras.Generator);
        if (stddev != 1.0) noise = noise * stddev;
        if (mean != 0.0) noise = noise + mean;
        var target = device ?? Keras.Device;
        return noise.device == target ? noise : noise.to(target);
    }
}
