using System.Runtime.CompilerServices;

// The tests drive callbacks' hooks directly (Callback.Model has an internal setter) and inspect internal pieces.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]

// The ONNX exporter (same product) implements the op tracer and reads the typed op records (OpInfo), which are not public API.
[assembly: InternalsVisibleTo("OnnxKeras.Export")]
