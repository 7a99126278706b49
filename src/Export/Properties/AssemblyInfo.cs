using System.Runtime.CompilerServices;

// The tests check that every op record has an emitter at every supported opset (OpEmitters.Table), which is not public API.
[assembly: InternalsVisibleTo("OnnxKeras.Tests")]
