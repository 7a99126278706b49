using Google.Protobuf;
using OnnxKeras.Export.Onnx;

namespace OnnxKeras.Inference.Tests;

/// <summary>Builds tiny ONNX models by hand (protobuf messages from our onnx.proto), so outputs are hand-computable.</summary>
internal static class OnnxBuilder
{
    public const int FloatType = (int)TensorProto.Types.DataType.Float;
    public const int Int64Type = (int)TensorProto.Types.DataType.Int64;

    /// <summary>A tensor value info; each dim is a long (fixed), a string (symbolic name) or null (unknown).</summary>
    public static ValueInfoProto Value(string name, int elemType, params object?[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            switch (d)
            {
                case string s: dim.DimParam = s; break;
                case int i: dim.DimValue = i; break;
                case long l: dim.DimValue = l; break;
                case null: break;
                default: throw new ArgumentException($"bad dim {d}");
            }
            shape.Dim.Add(dim);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }

    public static TensorProto FloatInit(string name, long[] dims, params float[] values)
    {
        var t = new TensorProto { Name = name, DataType = FloatType };
        t.Dims.AddRange(dims);
        t.FloatData.AddRange(values);
        return t;
    }

    public static TensorProto Int64Init(string name, long[] dims, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = Int64Type };
        t.Dims.AddRange(dims);
        t.Int64Data.AddRange(values);
        return t;
    }

    public static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = op + "_" + outputs[0] };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attributes);
        return n;
    }

    public static AttributeProto IntAttr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static ModelProto Model(GraphProto graph, long irVersion = 8, long opset = 17)
    {
        var m = new ModelProto { IrVersion = irVersion, ProducerName = "onnxkeras-tests", ProducerVersion = "0", Graph = graph };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return m;
    }

    public static GraphProto Graph(string name, IEnumerable<NodeProto> nodes, IEnumerable<ValueInfoProto> inputs,
                                   IEnumerable<ValueInfoProto> outputs, IEnumerable<TensorProto>? initializers = null)
    {
        var g = new GraphProto { Name = name };
        g.Node.AddRange(nodes);
        g.Input.AddRange(inputs);
        g.Output.AddRange(outputs);
        if (initializers is not null) g.Initializer.AddRange(initializers);
        return g;
    }
}
