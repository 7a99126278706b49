using System.Runtime.CompilerServices;

// The tests check that the embedded font is the one ScottPlot resolves.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]
