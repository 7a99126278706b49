using Google.Protobuf;
using OnnxKeras.Export.Onnx;
using OnnxKeras.Export.Tracing;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Export.Lowering;

/// <summary>Builds the ONNX graph: nodes, initializers and value_info, with unique names.</summary>
internal sealed class EmitContext
{
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long?[] Shape, int ElemType)> valueInfo = new(StringComparer.Ordinal);
    private int constantCounter;

    public EmitContext(int opset, IReadOnlyDictionary<string, long?[]> shapes, IReadOnlyDictionary<string, Tensor> constants)
    {
        Opset = opset;
        Shapes = shapes;
        Constants = constants;
    }

    public int Opset { get; }

    /// <summary>Shapes of recorded values (null dims are dynamic), by value name.</summary>
    public IReadOnlyDictionary<string, long?[]> Shapes { get; }

    /// <summary>Constant values by name (weights and folded constants), for lowerings that inspect them.</summary>
    public IReadOnlyDictionary<string, Tensor> Constants { get; }

    public GraphProto Graph { get; } = new();

    /// <summary>Shapes and element types of values, by name (graph inputs included); the optimizer keeps it current.</summary>
    public Dictionary<string, (long?[] Shape, int ElemType)> ValueInfo => valueInfo;

    public string Fresh(string baseName)
    {
        string name = baseName;
        for (int k = 1; !names.Add(name); k++) name = $"{baseName}_{k}";
        return name;
    }

    public void Reserve(string name) => names.Add(name);

    /// <summary>Adds a node; <paramref name="shape"/> (if known) is recorded as the output's value_info.</summary>
    public void Node(string opType, string[] inputs, string output, long?[]? shape = null, int elemType = 1, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh(output + "/" + opType) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        Graph.Node.Add(node);
        if (shape is not null) valueInfo[output] = (shape, elemType);
    }

    /// <summary>Adds a node whose output is a fresh intermediate value; returns its name.</summary>
    public string Temp(string opType, string[] inputs, string scope, long?[]? shape = null, int elemType = 1, params AttributeProto[] attributes)
    {
        string output = Fresh($"{scope}_{opType.ToLowerInvariant()}");
        Node(opType, inputs, output, shape, elemType, attributes);
        return output;
    }

    public string ScalarFloat(double value, string scope) => Initializer(Fresh($"{scope}_c{constantCounter++}"), tensor((float)value));

    public string Int64s(long[] values, string scope) => Initializer(Fresh($"{scope}_c{constantCounter++}"), tensor(values));

    /// <summary>Adds an initializer (float32, float64 converted to float32, int64, int32, bool) as raw little-endian data.</summary>
    public string Initializer(string name, Tensor value)
    {
        Graph.Initializer.Add(ToTensorProto(name, value));
        return name;
    }

    public static TensorProto ToTensorProto(string name, Tensor value)
    {
        var t = value.detach().cpu().contiguous();
        if (t.dtype == ScalarType.Float64) t = t.to_type(ScalarType.Float32);
        var proto = new TensorProto { Name = name, DataType = ElemType(t.dtype) };
        proto.Dims.AddRange(t.shape);
        byte[] bytes = t.dtype switch
        {
            ScalarType.Float32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<float>().ToArray().AsSpan()).ToArray(),
            ScalarType.Int64 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<long>().ToArray().AsSpan()).ToArray(),
            ScalarType.Int32 => System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.data<int>().ToArray().AsSpan()).ToArray(),
            ScalarType.Bool => t.data<bool>().ToArray().Select(b => b ? (byte)1 : (byte)0).ToArray(),
            _ => throw new OnnxExportException($"Constant '{name}' has dtype {t.dtype}, which the exporter does not write."),
        };
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian; big-endian hosts are not supported.");
        proto.RawData = ByteString.CopyFrom(bytes);
        return proto;
    }

    public static int ElemType(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 or ScalarType.Float64 => (int)TensorProto.Types.DataType.Float,
        ScalarType.Int64 => (int)TensorProto.Types.DataType.Int64,
        ScalarType.Int32 => (int)TensorProto.Types.DataType.Int32,
        ScalarType.Bool => (int)TensorProto.Types.DataType.Bool,
        _ => throw new OnnxExportException($"The exporter does not write tensors of dtype {dtype}."),
    };

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto Float(string name, double v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = (float)v };
    public static AttributeProto String(string name, string v) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(v) };
    public static AttributeProto Ints(string name, IEnumerable<long> v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }
}
