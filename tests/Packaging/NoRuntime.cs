// The Program.cs of a consumer that references OnnxKeras.Training and OnnxKeras.Inference but no native runtime
// (created by tests/Packaging/check.sh). Each library must fail with an exception that names the package to add.
using OnnxKeras;
using OnnxKeras.Inference;

int failures = 0;
void Expect<T>(string what, Action action, string mustName) where T : Exception
{
    try
    {
        action();
        Console.WriteLine($"noruntime: FAIL {what} did not throw");
        failures++;
    }
    catch (T e) when (e.Message.Contains(mustName, StringComparison.Ordinal))
    {
        Console.WriteLine($"noruntime: {what} -> {typeof(T).Name}: {e.Message[..Math.Min(160, e.Message.Length)]}...");
    }
    catch (Exception e)
    {
        Console.WriteLine($"noruntime: FAIL {what} threw {e.GetType().FullName}: {e.Message}");
        failures++;
    }
}

Expect<LibTorchNotFoundException>("Keras.SetRandomSeed without libtorch", () => Keras.SetRandomSeed(1), "libtorch-cpu-linux-x64");
Expect<LibTorchNotFoundException>("Keras.Device without libtorch", () => _ = Keras.Device, "libtorch-cpu-linux-x64");
Expect<OnnxRuntimeNotFoundException>("OnnxModel.Load without ONNX Runtime", () => OnnxModel.Load(args[0]).Dispose(), "Microsoft.ML.OnnxRuntime");
Console.WriteLine(failures == 0 ? "noruntime: ok" : $"noruntime: {failures} failure(s)");
return failures == 0 ? 0 : 1;
