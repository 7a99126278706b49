using Google.Protobuf;
using OnnxKeras.Export.Lowering;
using OnnxKeras.Export.Onnx;
using OnnxKeras.Export.Tracing;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using OnnxKeras.Saving;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Export;

/// <summary>
/// Exports models to ONNX through our own protobuf writer. The model's layer graph is run once per export on traced
/// tensors: layers compute with <see cref="Ops"/>, each op reports itself, and its ONNX form is written by the op's
/// emitter for the target opset. Layers whose ONNX form differs from their Call, or that compute with raw TorchSharp,
/// have explicit lowerings (<see cref="RegisterLowering{TLayer}"/>); a model with layers that cannot be exported fails
/// with one error listing all of them.
/// </summary>
/// <example><code>
/// var report = model.ExportOnnx("model.onnx", new OnnxExportOptions { Opset = 17, Verify = true });
/// Console.WriteLine(report);
/// </code></example>
public static class OnnxExport
{
    private static readonly LayerLoweringRegistry Lowerings = BuiltInLowerings();

    /// <summary>The lowerings of built-in layers: every <see cref="ILayerLoweringFamily"/> in this assembly.</summary>
    private static LayerLoweringRegistry BuiltInLowerings()
    {
        var registry = new LayerLoweringRegistry();
        foreach (var family in typeof(OnnxExport).Assembly.GetTypes().Where(t => typeof(ILayerLoweringFamily).IsAssignableFrom(t) && !t.IsInterface))
            ((ILayerLoweringFamily)Activator.CreateInstance(family)!).Register(registry);
        return registry;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (a temporary file in the same folder, then a rename).</summary>
    /// <example><code>ExportReport report = model.ExportOnnx("model.onnx", new OnnxExportOptions { Opset = 17, Verify = true });</code></example>
    public static ExportReport ExportOnnx(this Model model, string path, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Cannot write '{full}': the folder '{dir}' does not exist.");
        var (proto, report) = Build(model, options);
        long weightBytes = proto.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        string? dataPath = null;
        var written = new List<(string Temp, string Target)>();
        try
        {
            if (options.UsesExternalData(weightBytes))
            {
                dataPath = full + ".data";
                string dataTemp = TempName(dataPath);
                written.Add((dataTemp, dataPath));
                MoveToExternalData(proto, dataTemp, Path.GetFileName(dataPath));
            }
            string temp = TempName(full);
            written.Add((temp, full));
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                proto.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            foreach (var (t, target) in written) File.Move(t, target, overwrite: true);
        }
        catch
        {
            foreach (var (t, _) in written) if (File.Exists(t)) File.Delete(t);
            throw;
        }
        report.FileSize = new FileInfo(full).Length + (dataPath is null ? 0 : new FileInfo(dataPath).Length);
        report.ExternalDataPath = dataPath;
        if (options.Verify) report.MaxAbsDifference = Verifier.Check(model, File.ReadAllBytes(full), full, options);
        return report;
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="stream"/> (weights inline; a 2 GB protobuf limit applies).</summary>
    /// <example><code>
    /// using var stream = File.Create("model.onnx");
    /// model.ExportOnnx(stream);
    /// </code></example>
    public static ExportReport ExportOnnx(this Model model, Stream stream, OnnxExportOptions? options = null)
    {
        var bytes = ExportOnnxBytes(model, out var report, options);
        stream.Write(bytes);
        return report;
    }

    /// <summary>The ONNX file as bytes (weights inline).</summary>
    /// <example><code>
    /// byte[] onnx = model.ExportOnnxBytes(out ExportReport report);
    /// using var served = OnnxModel.Load(onnx);   // OnnxKeras.Inference loads the bytes as it loads a file
    /// </code></example>
    public static byte[] ExportOnnxBytes(this Model model, out ExportReport report, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        var (proto, r) = Build(model, options);
        long weightBytes = proto.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        if (!OnnxExportOptions.FitsInline(weightBytes))
            throw new OnnxExportException($"The weights take {weightBytes:N0} bytes, above protobuf's 2 GB limit for one message: " +
                "export to a file path, which writes them as ONNX external data.");
        var bytes = proto.ToByteArray();
        report = r;
        if (options.Verify) report.MaxAbsDifference = Verifier.Check(model, bytes, null, options);
        return bytes;
    }

    /// <summary>
    /// Registers an explicit lowering for layers of type <typeparamref name="TLayer"/>: a function that computes the layer's
    /// inference output from its traced inputs with <see cref="Ops"/> (and <see cref="LoweringArgs.OnnxNode"/> for ONNX ops
    /// that have no Ops counterpart). Use it for custom layers that compute with raw TorchSharp. A lowering (or a layer's
    /// Call) that throws <see cref="NotSupportedException"/> marks the layer as having no ONNX form: export then lists it
    /// with the other unsupported layers in one <see cref="OnnxExportException"/>. Any other exception is an error and
    /// stops the export at once, wrapped in an <see cref="OnnxExportException"/> that names the layer.
    /// </summary>
    /// <example><code>
    /// OnnxExport.RegisterLowering&lt;MyRawAbs&gt;((layer, args) =>
    ///     [args.OnnxNode("Abs", [args.Inputs[0]], args.Inputs[0].Value.abs())]);
    /// </code></example>
    public static void RegisterLowering<TLayer>(Func<TLayer, LoweringArgs, IReadOnlyList<KTensor>> lowering) where TLayer : Layer =>
        Lowerings.Register(typeof(TLayer), (layer, args) => lowering((TLayer)layer, args));

    /// <summary>Builds the ONNX model in memory.</summary>
    /// <example><code>
    /// var (proto, report) = OnnxExport.Build(model, new OnnxExportOptions { Opset = 18 });
    /// Console.WriteLine(proto.Graph.Node.Count);
    /// </code></example>
    public static (ModelProto Model, ExportReport Report) Build(Model model, OnnxExportOptions options)
    {
        if (options.Opset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
            throw new OnnxExportException($"Opset {options.Opset} is not supported; choose {OnnxExportOptions.MinOpset} to {OnnxExportOptions.MaxOpset}.");
        var inputShapes = InputShapes(model);
        var inputNames = options.InputNames?.ToList() ?? model.InputNames.ToList();
        var outputNames = options.OutputNames?.ToList() ?? model.OutputNames.ToList();
        if (inputNames.Count != inputShapes.Count)
            throw new OnnxExportException($"Model '{model.Name}' has {inputShapes.Count} input(s); {inputNames.Count} input names were given.");
        if (outputNames.Count != model.NumOutputs)
            throw new OnnxExportException($"Model '{model.Name}' has {model.NumOutputs} output(s); {outputNames.Count} output names were given.");
        var all = inputNames.Concat(outputNames).ToList();
        var clash = all.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null) throw new OnnxExportException($"The name '{clash.Key}' is used for more than one graph input/output; names must be unique.");
        if (all.Any(string.IsNullOrWhiteSpace)) throw new OnnxExportException("Input and output names cannot be empty.");
        var dynamicAxes = DynamicAxes(inputNames, inputShapes, options);

        var run1 = Trace(model, inputNames, inputShapes, dynamicAxes, options, small: true);
        var run2 = Trace(model, inputNames, inputShapes, dynamicAxes, options, small: false);
        var shapes = MergeShapes(run1, run2, model.Name);
        for (int i = 0; i < inputNames.Count; i++)
            shapes[inputNames[i]] = inputShapes[i]
                .Select((d, axis) => dynamicAxes[i].ContainsKey(axis) ? null : (long?)(d ?? options.FixedBatchSize)).ToArray();

        var constants = run1.Recorder.Constants.ToDictionary(c => c.Name, c => c.Value, StringComparer.Ordinal);
        var ctx = new EmitContext(options.Opset, shapes, constants);
        var graph = ctx.Graph;
        graph.Name = model.Name;
        foreach (var n in inputNames) ctx.Reserve(n);
        foreach (var n in outputNames) ctx.Reserve(n);
        foreach (var (name, value) in run1.Recorder.Constants)
        {
            ctx.Reserve(name);
            graph.Initializer.Add(EmitContext.ToTensorProto(name, value));
        }
        // Model outputs take the requested names: rename the values that produce them.
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        var identities = new List<(string From, string To)>();
        for (int k = 0; k < outputNames.Count; k++)
        {
            var value = run1.Outputs[k];
            bool producedByOp = run1.Recorder.Ops.Any(o => o.Output == value);
            if (producedByOp && !rename.ContainsKey(value)) rename[value] = outputNames[k];
            else identities.Add((rename.GetValueOrDefault(value, value), outputNames[k]));
        }
        foreach (var op in run1.Recorder.Ops)
        {
            var renamed = op with
            {
                Inputs = op.Inputs.Select(i => rename.GetValueOrDefault(i, i)).ToArray(),
                Output = rename.GetValueOrDefault(op.Output, op.Output),
            };
            ctx.Reserve(renamed.Output);
            OpEmitters.Emit(ctx, renamed, shapes[op.Output]);
        }
        foreach (var (from, to) in identities) ctx.Node("Identity", [from], to);
        for (int i = 0; i < inputNames.Count; i++)
        {
            graph.Input.Add(ValueInfo(inputNames[i], InputDims(inputShapes[i], dynamicAxes[i], options), 1));
            ctx.ValueInfo[inputNames[i]] = (shapes[inputNames[i]], 1);
        }
        for (int k = 0; k < outputNames.Count; k++)
        {
            var value = run1.Outputs[k];
            var elem = run1.Recorder.Ops.FirstOrDefault(o => o.Output == value) is { } producer ? EmitContext.ElemType(producer.DType) : 1;
            graph.Output.Add(ValueInfo(outputNames[k], OutputDims(shapes.GetValueOrDefault(value) ?? [], run1, run2, k, dynamicAxes, options), elem));
        }
        // After the outputs are declared: the optimizer keeps every value that is a graph output.
        GraphOptimizer.Run(graph, ctx.ValueInfo);
        var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
        foreach (var (name, (dims, elem)) in ctx.ValueInfo)
        {
            if (outputNames.Contains(name) || !produced.Contains(name)) continue;
            graph.ValueInfo.Add(ValueInfo(name,
                dims.Select((d, i) => d is long v ? Dim(v) : Dim(null, i == 0 ? BatchName(options) : $"{name}_dim{i}")).ToArray(), elem));
        }

        var proto = new ModelProto
        {
            IrVersion = IrVersion(options.Opset),
            ProducerName = options.ProducerName,
            ProducerVersion = options.ProducerVersion,
            DocString = options.DocString ?? "",
            Graph = graph,
            ModelVersion = 1,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        if (graph.Node.Any(n => n.Domain == LookupEmitters.MlDomain))
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = LookupEmitters.MlDomain, Version = LookupEmitters.MlOpset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = "keras_config", Value = ConfigJson.ModelToJson(model) });
        if (options.Metadata is not null)
        {
            foreach (var (k, v) in options.Metadata)
            {
                if (k == "keras_config") throw new OnnxExportException("Metadata key 'keras_config' is reserved for the model's config.");
                proto.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
            }
        }
        var report = new ExportReport
        {
            Opset = options.Opset,
            IrVersion = proto.IrVersion,
            NodesByOpType = graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count()),
            ParameterCount = graph.Initializer.Sum(t => t.Dims.Aggregate(1L, (a, b) => a * b)),
        };
        foreach (var c in run1.Recorder.Constants.Concat(run2.Recorder.Constants)) c.Value.Dispose();
        return (proto, report);
    }

    /// <summary>IR version that goes with an opset (ONNX 1.12 to 1.16).</summary>
    public static long IrVersion(int opset) => opset switch { <= 18 => 8, <= 20 => 9, _ => 10 };

    private sealed record TraceRun(TraceRecorder Recorder, string[] Outputs, long[][] InputSizes);

    private static List<Shape> InputShapes(Model model)
    {
        if (model.Graph is { } g) return g.Inputs.Select(t => t.Shape).ToList();
        if (model.BuildInputShapes is { } shapes) return shapes.ToList();
        throw new OnnxExportException($"Model '{model.Name}' is not built, so its input shape is unknown: " +
            "call it on data (Fit, Predict) or declare an input shape before exporting.");
    }

    /// <summary>Per input: dynamic axis index to dimension name (the batch axis, unknown axes, and the options' axes).</summary>
    private static List<Dictionary<int, string>> DynamicAxes(List<string> names, List<Shape> shapes, OnnxExportOptions options)
    {
        var result = new List<Dictionary<int, string>>();
        for (int i = 0; i < names.Count; i++)
        {
            var axes = new Dictionary<int, string>();
            if (options.BatchDimension is not null) axes[0] = options.BatchDimension;
            for (int d = 1; d < shapes[i].Rank; d++) if (shapes[i][d] is null) axes[d] = $"{names[i]}_dim{d}";
            result.Add(axes);
        }
        if (options.DynamicAxes is not null)
        {
            foreach (var (input, axes) in options.DynamicAxes)
            {
                int i = names.IndexOf(input);
                if (i < 0)
                    throw new OnnxExportException($"DynamicAxes names input '{input}', which is not an input of the model " +
                        $"({string.Join(", ", names)}).");
                foreach (var (axis, dim) in axes)
                {
                    if (axis <= 0 || axis >= shapes[i].Rank)
                        throw new OnnxExportException($"DynamicAxes: input '{input}' has shape {shapes[i]}; axis {axis} does not exist " +
                            $"(axes 1 to {shapes[i].Rank - 1} can be made dynamic; the batch axis is set by BatchDimension).");
                    result[i][axis] = dim;
                }
            }
        }
        return result;
    }

    private static TraceRun Trace(Model model, List<string> names, List<Shape> shapes, List<Dictionary<int, string>> dynamicAxes,
        OnnxExportOptions options, bool small)
    {
        var variables = model.Weights.ToDictionary(v => v.Value, v => v.Path, (IEqualityComparer<Tensor>)ReferenceEqualityComparer.Instance);
        var recorder = new TraceRecorder(variables, Lowerings);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var generator = new Generator(12345);
        var sizes = new long[names.Count][];
        var inputs = new List<KTensor>();
        for (int i = 0; i < names.Count; i++)
        {
            sizes[i] = shapes[i].Select((d, axis) =>
                dynamicAxes[i].ContainsKey(axis) ? (axis == 0 ? (small ? 2L : 3L) : (small ? 5L : 7L)) : d ?? options.FixedBatchSize).ToArray();
            inputs.Add(recorder.Input(names[i], rand(sizes[i], ScalarType.Float32, generator: generator).to(Keras.Device)));
        }
        var outputs = model.ApplyMany(inputs, training: false);
        if (recorder.Unsupported.Count > 0)
            throw new OnnxExportException($"Model '{model.Name}' cannot be exported: {recorder.Unsupported.Count} layer(s) have no ONNX form:\n  " +
                string.Join("\n  ", recorder.Unsupported.Distinct()));
        var outputNames = outputs.Select(o => o.Tracer == recorder ? o.Symbol! : recorder.NameOf(o)).ToArray();
        foreach (var (_, value) in recorder.Constants) value.DetachFromDisposeScope();
        return new TraceRun(recorder, outputNames, sizes);
    }

    private static Dictionary<string, long?[]> MergeShapes(TraceRun a, TraceRun b, string modelName)
    {
        if (a.Recorder.Ops.Count != b.Recorder.Ops.Count
            || a.Recorder.Ops.Zip(b.Recorder.Ops).Any(p => p.First.Op.Name != p.Second.Op.Name || p.First.Output != p.Second.Output))
            throw new OnnxExportException($"Model '{modelName}' computes different ops for different batch sizes (data-dependent control flow), " +
                "so it has no single ONNX graph.");
        var result = new Dictionary<string, long?[]>(StringComparer.Ordinal);
        foreach (var (x, y) in a.Recorder.Ops.Zip(b.Recorder.Ops))
        {
            if (x.Op is ReshapeOp rx && y.Op is ReshapeOp ry && !rx.Shape.SequenceEqual(ry.Shape))
                throw new OnnxExportException($"In {x.Scope}: a Reshape target shape depends on the batch size ({string.Join(", ", rx.Shape)}); " +
                    "use -1 for the batch dimension.");
            result[x.Output] = x.Shape.Length != y.Shape.Length ? x.Shape.Select(_ => (long?)null).ToArray()
                : x.Shape.Zip(y.Shape).Select(p => p.First == p.Second ? (long?)p.First : null).ToArray();
        }
        return result;
    }

    private static string BatchName(OnnxExportOptions options) => options.BatchDimension ?? "batch";

    private static TensorShapeProto.Types.Dimension[] InputDims(Shape shape, Dictionary<int, string> dynamic, OnnxExportOptions options) =>
        shape.Select((d, axis) => dynamic.TryGetValue(axis, out var name) ? Dim(null, name) : Dim(d ?? options.FixedBatchSize)).ToArray();

    /// <summary>Output dims: fixed where both runs agree; otherwise the name of the input axis that varied the same way.</summary>
    private static TensorShapeProto.Types.Dimension[] OutputDims(long?[] merged, TraceRun a, TraceRun b, int output,
        List<Dictionary<int, string>> dynamic, OnnxExportOptions options)
    {
        var sa = a.Recorder.Ops.FirstOrDefault(o => o.Output == a.Outputs[output])?.Shape;
        var sb = b.Recorder.Ops.FirstOrDefault(o => o.Output == b.Outputs[output])?.Shape;
        return merged.Select((d, i) =>
        {
            if (d is long v) return Dim(v);
            long x = sa?[i] ?? 0, y = sb?[i] ?? 0;
            for (int k = 0; k < dynamic.Count; k++)
                foreach (var (axis, name) in dynamic[k])
                    if (a.InputSizes[k][axis] == x && b.InputSizes[k][axis] == y) return Dim(null, name);
            return Dim(null, $"output{output}_dim{i}");
        }).ToArray();
    }

    private static TensorShapeProto.Types.Dimension Dim(long? value, string? param = null) =>
        value is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = param ?? "unk" };

    private static ValueInfoProto ValueInfo(string name, TensorShapeProto.Types.Dimension[] dims, int elemType)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }

    private static void MoveToExternalData(ModelProto proto, string dataFile, string location)
    {
        using var data = new FileStream(dataFile, FileMode.CreateNew, FileAccess.Write);
        foreach (var t in proto.Graph.Initializer)
        {
            if (t.RawData.Length < 1024) continue;
            long offset = data.Position;
            t.RawData.WriteTo(data);
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto
            {
                Key = "length",
                Value = t.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            });
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.RawData = ByteString.Empty;
        }
        data.Flush(flushToDisk: true);
    }

    private static string TempName(string target) => Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.tmp");
}
