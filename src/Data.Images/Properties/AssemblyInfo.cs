using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("OnnxKeras.Tests")]
