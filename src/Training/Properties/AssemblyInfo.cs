using System.Runtime.CompilerServices;

// The tests drive callbacks' hooks directly (Callback.Model has an internal setter) and inspect internal pieces.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]

// The ONNX exporter (same product) implements the op tracer and reads the typed op records (OpInfo), which are not public API.
[assembly: InternalsVisibleTo("OnnxKeras.Export")]

// The image loader (its own package, so that training takes no SkiaSharp dependency) shares the directory listing and split
// of Keras's *_dataset_from_directory utilities (DirectoryIndex) and builds DirectoryDataset.
[assembly: InternalsVisibleTo("OnnxKeras.Data.Images")]

// The benchmarks measure internal pieces that have no public form (the compiled forward pass of issue 17's jit_compile).
[assembly: InternalsVisibleTo("OnnxKeras.Bench")]
