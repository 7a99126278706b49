using System.Runtime.CompilerServices;

namespace OnnxKeras.Tests;

/// <summary>Process-wide test settings: libtorch threads fixed to 2 (this machine's cores; tests run one at a time).</summary>
internal static class TestSetup
{
    [ModuleInitializer]
    internal static void Init() => Keras.SetThreads(2);
}
