using System.Net;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OnnxKeras.Cli.Serving;
using OnnxKeras.Cli.Serving.Grpc;
using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>The protocol's gRPC service, called by a client generated from the protocol's proto in this test assembly.</summary>
public sealed partial class ServerTests
{
    private static async Task<(Running Running, GrpcChannel Channel, GRPCInferenceService.GRPCInferenceServiceClient Client)> StartGrpc(ServerOptions? options = null)
    {
        var running = await Start(TestModels.Dense(), options ?? new ServerOptions { ModelName = "m", GrpcPort = 0 });
        Assert.NotNull(running.Server.GrpcPort);
        Assert.NotEqual(running.Server.Port, running.Server.GrpcPort);
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{running.Server.GrpcPort}");
        return (running, channel, new GRPCInferenceService.GRPCInferenceServiceClient(channel));
    }

    private static ModelInferRequest GrpcDenseRequest(float[] x, bool raw)
    {
        var request = new ModelInferRequest { ModelName = "m", Id = "g1" };
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32" };
        input.Shape.AddRange([x.Length / 3, 3]);
        if (raw) request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(x.AsSpan())));
        else input.Contents = new InferTensorContents { Fp32Contents = { x } };
        request.Inputs.Add(input);
        return request;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GrpcInferEqualsPredictAndRestBitForBit(bool raw)
    {
        var (s, channel, client) = await StartGrpc();
        await using var _ = s;
        using var __ = channel;
        float[] x = [0.1f, -2.5f, 3.25f, 1e-3f, 7f, -0.3f];
        var expected = s.Model.Predict(x, [2L, 3L]);

        var response = await client.ModelInferAsync(GrpcDenseRequest(x, raw));
        Assert.Equal("m", response.ModelName);
        Assert.Equal("1", response.ModelVersion);
        Assert.Equal("g1", response.Id);
        var output = Assert.Single(response.Outputs);
        Assert.Equal("y", output.Name);
        Assert.Equal("FP32", output.Datatype);
        Assert.Equal(expected.Shape, output.Shape);
        float[] grpc = MemoryMarshal.Cast<byte, float>(Assert.Single(response.RawOutputContents).Span).ToArray();
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), grpc.Select(BitConverter.SingleToInt32Bits));

        var (status, body) = await Post(s.Http, "v2/models/m/infer", DenseRequest(x));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), Floats(body.GetProperty("outputs")[0]).Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(2, s.Server.RequestsServed);
    }

    [Fact]
    public async Task GrpcHealthAndMetadata()
    {
        var (s, channel, client) = await StartGrpc();
        await using var _ = s;
        using var __ = channel;
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        Assert.True((await client.ServerReadyAsync(new ServerReadyRequest())).Ready);
        Assert.True((await client.ModelReadyAsync(new ModelReadyRequest { Name = "m" })).Ready);
        Assert.Equal("onnxkeras", (await client.ServerMetadataAsync(new ServerMetadataRequest())).Name);
        var metadata = await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "m", Version = "1" });
        Assert.Equal(["1"], metadata.Versions);
        Assert.Equal("onnxruntime_onnx", metadata.Platform);
        var input = Assert.Single(metadata.Inputs);
        Assert.Equal(("x", "FP32"), (input.Name, input.Datatype));
        Assert.Equal([-1L, 3L], input.Shape);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelMetadataAsync(new ModelMetadataRequest { Name = "other" }));
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    public static TheoryData<string, Func<ModelInferRequest>, StatusCode, string> BadGrpcRequests => new()
    {
        { "unknown model", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.ModelName = "z"; return r; }, StatusCode.NotFound, "Unknown model 'z'" },
        { "wrong shape", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.Inputs[0].Shape[1] = 4; r.Inputs[0].Contents.Fp32Contents.Add(4); return r; }, StatusCode.InvalidArgument, "dimension 1 must be 3" },
        { "too many values", () => GrpcDenseRequest([1, 2, 3, 4], false), StatusCode.InvalidArgument, "needs 3 elements, but its data holds 4" },
        { "raw too short", () => { var r = GrpcDenseRequest([1, 2, 3], true); r.RawInputContents[0] = ByteString.CopyFrom(new byte[8]); return r; }, StatusCode.InvalidArgument, "needs 12 bytes of FP32, but its raw contents hold 8" },
        { "contents too short", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.Inputs[0].Contents.Fp32Contents.RemoveAt(2); return r; }, StatusCode.InvalidArgument, "needs 3 elements, but its data holds 2" },
        { "wrong datatype", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.Inputs[0].Datatype = "INT64"; return r; }, StatusCode.InvalidArgument, "expects datatype FP32 but the request says INT64" },
        { "unknown parameter", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.Parameters["priority"] = new InferParameter { Int64Param = 1 }; return r; }, StatusCode.InvalidArgument, "Parameter 'priority' of the request is not supported" },
        { "missing input", () => new ModelInferRequest { ModelName = "m" }, StatusCode.InvalidArgument, "Missing model input(s): 'x'" },
        { "unknown output", () => { var r = GrpcDenseRequest([1, 2, 3], false); r.Outputs.Add(new ModelInferRequest.Types.InferRequestedOutputTensor { Name = "q" }); return r; }, StatusCode.InvalidArgument, "no output named 'q'" },
    };

    [Theory]
    [MemberData(nameof(BadGrpcRequests))]
    public async Task BadGrpcRequestsGetTheirStatusAndTheServerKeepsServing(string what, Func<ModelInferRequest> make, StatusCode code, string message)
    {
        var (s, channel, client) = await StartGrpc();
        await using var _ = s;
        using var __ = channel;
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(make()));
        Assert.True(e.StatusCode == code, $"{what}: {e.StatusCode} {e.Status.Detail}");
        Assert.Contains(message, e.Status.Detail, StringComparison.Ordinal);
        var ok = await client.ModelInferAsync(GrpcDenseRequest([1, 2, 3], false));
        Assert.Single(ok.Outputs);
    }

    [Fact]
    public async Task GrpcWithAnApiKeyNeedsTheBearerTokenButNotForLiveness()
    {
        var (s, channel, client) = await StartGrpc(new ServerOptions { ModelName = "m", GrpcPort = 0, ApiKey = "g-key" });
        await using var _ = s;
        using var __ = channel;
        Assert.True((await client.ServerLiveAsync(new ServerLiveRequest())).Live);
        var e = await Assert.ThrowsAsync<RpcException>(async () => await client.ModelInferAsync(GrpcDenseRequest([1, 2, 3], false)));
        Assert.Equal(StatusCode.Unauthenticated, e.StatusCode);
        var headers = new Metadata { { "authorization", "Bearer g-key" } };
        Assert.Single((await client.ModelInferAsync(GrpcDenseRequest([1, 2, 3], false), headers)).Outputs);
    }
}
