using Google.Protobuf;
using OnnxKeras.Export.Onnx;
using OnnxKeras.Inference;
using OnnxKeras.Layers;
using static OnnxKeras.Export.Lowering.EmitContext;

namespace OnnxKeras.Export;

/// <summary>
/// A <see cref="StringLookup"/> on its own as an ONNX model with a string input (the string layers cannot sit inside a
/// tensor model): input <c>inputs</c>, string <c>[batch, length]</c>; output <c>outputs</c>, the int64 indices or the
/// float32 encodings. It is ai.onnx.ml <c>LabelEncoder</c> (strings to int64, ai.onnx.ml opset 2) with the mask token in
/// its table, then for the encoded modes <c>OneHot</c> + <c>ReduceMax</c>/<c>ReduceSum</c> (and <c>Mul</c> by the IDF
/// weights). Run it with <see cref="OnnxModel"/> and <see cref="TensorInput"/> over strings, then feed its output to the
/// exported tensor model.
/// </summary>
public static class StringLookupExport
{
    private const int Float = 1, Int64 = 7, Str = 8;

    /// <summary>The ONNX model of <paramref name="layer"/> as bytes; with <see cref="OnnxExportOptions.Verify"/> ONNX Runtime's
    /// result is compared with <see cref="StringLookup.Call(string[,])"/> on the vocabulary, an unknown token and the mask.</summary>
    /// <exception cref="NotSupportedException">Hashed OOV buckets (numOovIndices > 1: FarmHash has no ONNX op) or an inverted layer.</exception>
    /// <exception cref="InvalidOperationException">The layer has no vocabulary.</exception>
    /// <exception cref="OnnxExportException">Verification failed.</exception>
    /// <example><code>byte[] onnx = lookup.ExportOnnxBytes(new OnnxExportOptions { Verify = true });</code></example>
    public static byte[] ExportOnnxBytes(this StringLookup layer, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        options ??= new OnnxExportOptions();
        var bytes = Build(layer, options).ToByteArray();
        if (options.Verify) Check(layer, bytes);
        return bytes;
    }

    /// <summary>Writes the ONNX model of <paramref name="layer"/> to <paramref name="path"/> (see <see cref="ExportOnnxBytes"/>).</summary>
    /// <inheritdoc cref="ExportOnnxBytes" path="/exception"/>
    public static void ExportOnnx(this StringLookup layer, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var bytes = ExportOnnxBytes(layer, options);
        Saving.AtomicFile.Write(path, s => s.Write(bytes));
    }

    private static ModelProto Build(StringLookup layer, OnnxExportOptions options)
    {
        var v = layer.Vocabulary;
        if (v.Invert)
            throw new NotSupportedException($"Layer '{layer.Name}' (StringLookup) is inverted: its ONNX form would output strings, which " +
                "OnnxModel does not read; run CallInverted in .NET.");
        if (v.NumOovIndices > 1)
            throw new NotSupportedException($"Layer '{layer.Name}' (StringLookup) hashes OOV tokens into {v.NumOovIndices} buckets with " +
                "FarmHash, which has no ONNX op; export it with numOovIndices 0 or 1, or run it in .NET.");
        if (!v.HasVocabulary)
            throw new InvalidOperationException($"Layer '{layer.Name}' (StringLookup) has no vocabulary: pass vocabulary or call Adapt first.");
        if (options.Opset is < OnnxExportOptions.MinOpset or > OnnxExportOptions.MaxOpset)
            throw new ArgumentException($"Opset {options.Opset} is outside {OnnxExportOptions.MinOpset}-{OnnxExportOptions.MaxOpset}.", nameof(options));
        var keys = v.Tokens.ToList();
        var values = keys.Select((_, i) => v.TokenStart + i).ToList();
        if (v.HasMask)
        {
            keys.Add(v.MaskToken);
            values.Add(v.OutputMode == "int" ? 0 : v.Depth); // the encodings drop it
        }
        var graph = new GraphProto { Name = layer.Name };
        var encoder = Node("LabelEncoder", ["inputs"], v.OutputMode == "int" ? "outputs" : "ids",
            Strings("keys_strings", keys), Ints("values_int64s", values), Int("default_int64", v.NumOovIndices == 1 ? v.OovStart : -1));
        encoder.Domain = Lowering.LookupEmitters.MlDomain;
        graph.Node.Add(encoder);
        if (v.OutputMode != "int") Encode(graph, v, options.Opset);
        string batch = options.BatchDimension ?? "batch";
        graph.Input.Add(Info("inputs", Str, Dim(batch), Dim("length")));
        graph.Output.Add(v.OutputMode switch
        {
            "int" => Info("outputs", Int64, Dim(batch), Dim("length")),
            "one_hot" => Info("outputs", Float, Dim(batch), Dim("length"), Dim(v.Depth)),
            _ => Info("outputs", Float, Dim(batch), Dim(v.Depth)),
        });
        var model = new ModelProto
        {
            IrVersion = OnnxExport.IrVersion(options.Opset),
            ProducerName = options.ProducerName,
            ProducerVersion = options.ProducerVersion,
            DocString = options.DocString ?? "",
            Graph = graph,
            ModelVersion = 1,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = options.Opset });
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = Lowering.LookupEmitters.MlDomain, Version = Lowering.LookupEmitters.MlOpset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "keras_config", Value = Saving.ConfigJson.Write(layer.GetConfig()) });
        return model;
    }

    /// <summary>OneHot of the ids (negative ids moved out of range) summed or maxed over the sample axis, times the IDF weights.</summary>
    private static void Encode(GraphProto g, LookupVocabulary<string> v, int opset)
    {
        Constant(g, "zero", TorchSharp.torch.tensor(new long[] { 0 }));
        Constant(g, "depth", TorchSharp.torch.tensor(new long[] { v.Depth }));
        Constant(g, "off_on", TorchSharp.torch.tensor(new float[] { 0, 1 }));
        Constant(g, "sample_axis", TorchSharp.torch.tensor(new long[] { -2 }));
        g.Node.Add(Node("Less", ["ids", "zero"], "negative"));
        g.Node.Add(Node("Where", ["negative", "depth", "ids"], "kept"));
        g.Node.Add(Node("OneHot", ["kept", "depth", "off_on"], v.OutputMode == "one_hot" ? "outputs" : "hot", Int("axis", -1)));
        if (v.OutputMode == "one_hot") return;
        string reduced = v.OutputMode == "tf_idf" ? "counts" : "outputs";
        string op = v.OutputMode == "multi_hot" ? "ReduceMax" : "ReduceSum";
        bool axesInput = opset >= Lowering.EmitterHelpers.AxesInputFrom(op);
        g.Node.Add(axesInput ? Node(op, ["hot", "sample_axis"], reduced, Int("keepdims", 0))
            : Node(op, ["hot"], reduced, Ints("axes", [-2]), Int("keepdims", 0)));
        if (v.OutputMode != "tf_idf") return;
        Constant(g, "idf_weights", TorchSharp.torch.tensor(v.IdfWeights!.Select(w => (float)w).ToArray()));
        g.Node.Add(Node("Mul", ["counts", "idf_weights"], "outputs"));
    }

    private static void Constant(GraphProto g, string name, TorchSharp.torch.Tensor value)
    {
        using (value) g.Initializer.Add(ToTensorProto(name, value));
    }

    private static NodeProto Node(string op, string[] inputs, string output, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = output + "/" + op };
        n.Input.AddRange(inputs);
        n.Output.Add(output);
        n.Attribute.AddRange(attributes);
        return n;
    }

    private static AttributeProto Strings(string name, IEnumerable<string> values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Strings };
        a.Strings.AddRange(values.Select(ByteString.CopyFromUtf8));
        return a;
    }

    private static TensorShapeProto.Types.Dimension Dim(string param) => new() { DimParam = param };

    private static TensorShapeProto.Types.Dimension Dim(long value) => new() { DimValue = value };

    private static ValueInfoProto Info(string name, int elem, params TensorShapeProto.Types.Dimension[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.AddRange(dims);
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elem, Shape = shape } } };
    }

    /// <summary>ONNX Runtime on rows of the vocabulary, an unknown token and the mask token, against the layer in .NET.</summary>
    private static void Check(StringLookup layer, byte[] bytes)
    {
        var v = layer.Vocabulary;
        var tokens = v.Tokens.Take(7).Append("\u0001 surely not in the vocabulary").Concat(v.HasMask ? [v.MaskToken] : []).ToList();
        if (v.NumOovIndices == 0) tokens.RemoveAt(tokens.Count - (v.HasMask ? 2 : 1)); // an OOV token is an error then
        int width = 2, rows = (tokens.Count + width - 1) / width;
        var grid = new string[rows, width];
        for (int i = 0; i < rows * width; i++) grid[i / width, i % width] = tokens[i % tokens.Count];
        using var session = OnnxModel.Load(bytes, new InferenceOptions { Device = ExecutionDevice.Cpu, IntraOpThreads = 1 });
        var onnx = session.Predict(new TensorInput(grid.Cast<string>().ToArray(), rows, width));
        using var expected = layer.Call(grid).Value.cpu();
        double[] want = v.OutputMode == "int" ? expected.data<long>().Select(x => (double)x).ToArray()
            : expected.data<float>().Select(x => (double)x).ToArray();
        double[] got = onnx.Values is long[] l ? l.Select(x => (double)x).ToArray() : onnx.Data.Select(x => (double)x).ToArray();
        if (want.Length != got.Length)
            throw new OnnxExportException($"Verification failed: {got.Length} values in ONNX Runtime and {want.Length} in .NET.");
        for (int i = 0; i < want.Length; i++)
        {
            if (Math.Abs(want[i] - got[i]) > 1e-5 + 1e-4 * Math.Abs(want[i]))
                throw new OnnxExportException($"Verification failed: element {i} is {got[i]} in ONNX Runtime but {want[i]} in .NET.");
        }
    }
}
