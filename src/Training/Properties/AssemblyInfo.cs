using System.Runtime.CompilerServices;

// The tests drive callbacks' hooks directly (Callback.Model has an internal setter) and inspect internal pieces.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]

// OnnxKeras.Plotting writes its PNG files with the same atomic writer as the weight files (Saving/WeightFiles.cs).
[assembly: InternalsVisibleTo("OnnxKeras.Plotting")]
