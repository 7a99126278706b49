using System.Runtime.CompilerServices;

// The tests drive callbacks' hooks directly (Callback.Model has an internal setter) and inspect internal pieces.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]
