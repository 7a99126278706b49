using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Cli.Serving.Grpc;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// The Open Inference Protocol's gRPC service (<c>inference.GRPCInferenceService</c>, KServe v2 / Triton) over the same
/// models, limits, batching and counters as the REST routes of <see cref="KServeServer"/>. Inputs come as typed
/// <c>contents</c> (<c>fp32_contents</c>, <c>int64_contents</c>, <c>int_contents</c>) or as <c>raw_input_contents</c>
/// (little-endian bytes); outputs (every one by default, of any numeric or BOOL type) are returned as
/// <c>raw_output_contents</c>, as Triton does, so clients get ONNX Runtime's bits. Errors map the REST statuses to gRPC
/// codes: 400 InvalidArgument, 401 Unauthenticated, 404 NotFound, 413 ResourceExhausted, 503 Unavailable, 500 Internal.
/// </summary>
internal sealed class GrpcInferenceService(KServeServer server) : GRPCInferenceService.GRPCInferenceServiceBase
{
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerReadyResponse { Ready = true });

    public override Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        Find(request.Name, request.Version);
        return Task.FromResult(new ModelReadyResponse { Ready = true });
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerMetadataResponse { Name = "onnxkeras", Version = KServeServer.Version, Extensions = { "binary_tensor_data" } });

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var h = Find(request.Name, request.Version);
        var response = new ModelMetadataResponse { Name = h.Name, Platform = "onnxruntime_onnx" };
        response.Versions.AddRange(server.Models.Where(m => m.Name == h.Name).Select(m => m.Version));
        foreach (var (infos, target) in new[] { (h.Model.Inputs, response.Inputs), (h.Model.Outputs, response.Outputs) })
        {
            foreach (var info in infos)
            {
                var t = new ModelMetadataResponse.Types.TensorMetadata { Name = info.Name, Datatype = InferCodec.Datatype(info.ElementType) };
                t.Shape.AddRange(info.Dimensions.Select(d => d.Value ?? -1));
                target.Add(t);
            }
        }
        return Task.FromResult(response);
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var h = Find(request.ModelName, request.ModelVersion);
        using var flight = server.EnterFlight(h, "grpc");
        try
        {
            var parsed = Parse(h, request);
            var outputs = await server.RunAsync(h, parsed).ConfigureAwait(false);
            var response = new ModelInferResponse { ModelName = h.Name, ModelVersion = h.Version, Id = request.Id };
            foreach (var (name, result) in outputs)
            {
                var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = name, Datatype = InferCodec.Datatype(result.ElementType) };
                tensor.Shape.AddRange(result.Shape);
                response.Outputs.Add(tensor);
                response.RawOutputContents.Add(ByteString.CopyFrom(result.AsBytes()));
            }
            flight.Complete(nameof(StatusCode.OK));
            return response;
        }
        catch (RpcException e)
        {
            flight.Complete(e.StatusCode.ToString());
            throw;
        }
        catch (Exception e)
        {
            var (status, message) = server.Classify(e);
            flight.Complete(Code(status).ToString());
            throw new RpcException(new Status(Code(status), message));
        }
    }

    private HostedModel Find(string name, string version)
    {
        var (h, missing) = server.FindModel(name, version);
        return h ?? throw new RpcException(new Status(StatusCode.NotFound, missing!));
    }

    private static StatusCode Code(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        404 => StatusCode.NotFound,
        408 => StatusCode.DeadlineExceeded,
        413 => StatusCode.ResourceExhausted,
        503 => StatusCode.Unavailable,
        _ => StatusCode.Internal,
    };

    private static RequestException Bad(string message) => new(400, message);

    /// <summary>The request as the REST path has it: inputs checked against the model before their data is copied.</summary>
    private static InferRequest Parse(HostedModel h, ModelInferRequest request)
    {
        CheckParameters(request.Parameters, "the request");
        bool raw = request.RawInputContents.Count > 0;
        if (raw && request.RawInputContents.Count != request.Inputs.Count)
            throw Bad($"raw_input_contents has {request.RawInputContents.Count} entries for {request.Inputs.Count} inputs; it needs one per input.");
        var inputs = new List<ParsedInput>(request.Inputs.Count);
        for (int k = 0; k < request.Inputs.Count; k++)
        {
            var t = request.Inputs[k];
            if (inputs.Any(i => i.Name == t.Name)) throw Bad($"Input '{t.Name}' is given twice.");
            CheckParameters(t.Parameters, $"input '{t.Name}'");
            if (raw && t.Contents is not null)
                throw Bad($"Input '{t.Name}' has contents although the request uses raw_input_contents; use one or the other.");
            inputs.Add(Input(h.Model, t, raw ? request.RawInputContents[k] : null));
        }
        string[]? outputs = request.Outputs.Count == 0 ? null : request.Outputs.Select(o =>
        {
            CheckParameters(o.Parameters, $"output '{o.Name}'");
            return o.Name;
        }).ToArray();
        return new InferRequest(string.IsNullOrEmpty(request.Id) ? null : request.Id, inputs, outputs);
    }

    private static ParsedInput Input(OnnxKeras.Inference.OnnxModel model, ModelInferRequest.Types.InferInputTensor t, ByteString? raw)
    {
        var shape = t.Shape.ToArray();
        if (shape.Any(d => d < 0)) throw Bad($"Input '{t.Name}' has shape {InferCodec.ShapeText(shape)}; dimensions must be non-negative integers.");
        var (type, size, count) = InferCodec.CheckDeclaredInput(model, t.Name, t.Datatype, shape);
        if (count > Array.MaxLength) throw Bad($"Input '{t.Name}' has shape {InferCodec.ShapeText(shape)}, more elements than one .NET array holds.");
        string Mismatch(long got) => $"Input '{t.Name}' has shape {InferCodec.ShapeText(shape)}, which needs {count} elements, but its data holds {got}.";
        if (raw is not null)
        {
            if (raw.Length != count * size)
                throw Bad($"Input '{t.Name}' has shape {InferCodec.ShapeText(shape)}, which needs {count * size} bytes of {t.Datatype}, " +
                    $"but its raw contents hold {raw.Length}.");
            Array data = type switch
            {
                TensorElementType.Float => MemoryMarshal.Cast<byte, float>(raw.Span).ToArray(),
                TensorElementType.Int64 => MemoryMarshal.Cast<byte, long>(raw.Span).ToArray(),
                _ => MemoryMarshal.Cast<byte, int>(raw.Span).ToArray(),
            };
            return new ParsedInput(t.Name, type, shape, data);
        }
        var c = t.Contents ?? throw Bad($"Input '{t.Name}' has no contents and the request has no raw_input_contents.");
        Array values = type switch
        {
            TensorElementType.Float => c.Fp32Contents.ToArray(),
            TensorElementType.Int64 => c.Int64Contents.ToArray(),
            _ => c.IntContents.ToArray(),
        };
        if (values.Length != count) throw Bad(Mismatch(values.Length));
        return new ParsedInput(t.Name, type, shape, values);
    }

    /// <summary>The same rule as the REST requests: binary_data and binary_data_output may be false; anything else is
    /// refused by name.</summary>
    private static void CheckParameters(Google.Protobuf.Collections.MapField<string, InferParameter> parameters, string where)
    {
        foreach (var (name, value) in parameters)
        {
            if (name is "binary_data" or "binary_data_output"
                && value.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.BoolParam && !value.BoolParam)
                continue;
            throw Bad($"Parameter '{name}' of {where} is not supported by this server.");
        }
    }
}
