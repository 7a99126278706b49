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

/// <summary>The binary tensor data extension (Inference-Header-Content-Length), both ways.</summary>
public sealed partial class ServerTests
{
    /// <summary>A binary-extension request: the JSON part, then the bytes of each binary input.</summary>
    private static HttpRequestMessage BinaryRequest(string json, params byte[][] binary)
    {
        byte[] head = System.Text.Encoding.UTF8.GetBytes(json);
        var body = head.Concat(binary.SelectMany(b => b)).ToArray();
        var message = new HttpRequestMessage(HttpMethod.Post, "v2/models/m/infer") { Content = new ByteArrayContent(body) };
        message.Content.Headers.ContentType = new("application/octet-stream");
        message.Headers.Add("Inference-Header-Content-Length", head.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return message;
    }

    [Fact]
    public async Task BinaryExtensionBothWaysEqualsPredictBitForBit()
    {
        await using var s = await Start(TestModels.Dense());
        float[] x = [0.1f, -2.5f, 3.25f, 1e-3f, 7f, float.Epsilon];
        var expected = s.Model.Predict(x, [2L, 3L]);
        byte[] xBytes = MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
        string json = """{"id": "b", "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 24}}], "outputs": [{"name": "y", "parameters": {"binary_data": true}}]}""";
        using var r = await s.Http.SendAsync(BinaryRequest(json, xBytes));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        byte[] body = await r.Content.ReadAsByteArrayAsync();
        int jsonLength = int.Parse(r.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var head = System.Text.Json.JsonDocument.Parse(body.AsMemory(0, jsonLength)).RootElement;
        var output = head.GetProperty("outputs")[0];
        Assert.Equal("y", output.GetProperty("name").GetString());
        Assert.False(output.TryGetProperty("data", out _));
        Assert.Equal(expected.Data.Length * 4, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(jsonLength + expected.Data.Length * 4, body.Length);
        float[] y = MemoryMarshal.Cast<byte, float>(body.AsSpan(jsonLength)).ToArray();
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));

        // Binary in, JSON out (no binary output asked for): the same values as text.
        string jsonOut = """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 24}}]}""";
        using var r2 = await s.Http.SendAsync(BinaryRequest(jsonOut, xBytes));
        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
        Assert.False(r2.Headers.Contains("Inference-Header-Content-Length"));
        var text = System.Text.Json.JsonDocument.Parse(await r2.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), Floats(text.GetProperty("outputs")[0]).Select(BitConverter.SingleToInt32Bits));

        // JSON in, binary out for every output (request-level binary_data_output).
        using var plain = new StringContent("""{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [0.1, -2.5, 3.25, 0.001, 7, 1E-45]}], "parameters": {"binary_data_output": true}}""");
        using var r3 = await s.Http.PostAsync("v2/models/m/infer", plain);
        Assert.Equal(HttpStatusCode.OK, r3.StatusCode);
        byte[] body3 = await r3.Content.ReadAsByteArrayAsync();
        int jsonLength3 = int.Parse(r3.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(expected.Data.Select(BitConverter.SingleToInt32Bits), MemoryMarshal.Cast<byte, float>(body3.AsSpan(jsonLength3)).ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    public static TheoryData<string, string, int, string> BadBinaryRequests => new()
    {
        { "size does not match the shape", """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 20}}]}""", 20, "needs 24 bytes of binary data, but its binary_data_size is 20" },
        { "body shorter than declared", """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 24}}]}""", 16, "ends inside the binary data of input 'x': 16 of its 24 bytes arrived" },
        { "bytes left over", """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "parameters": {"binary_data_size": 24}}]}""", 28, "more bytes after the binary data" },
        { "data and binary", """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 2, 3, 4, 5, 6], "parameters": {"binary_data_size": 24}}]}""", 24, "both 'data' and binary_data_size" },
    };

    [Theory]
    [MemberData(nameof(BadBinaryRequests))]
    public async Task BadBinaryRequestsGet400(string what, string json, int bytes, string message)
    {
        await using var s = await Start(TestModels.Dense());
        using var r = await s.Http.SendAsync(BinaryRequest(json, new byte[bytes]));
        string body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{what}: {r.StatusCode} {body}");
        Assert.Contains(message, body, StringComparison.Ordinal);
        await AssertStillServing(s.Http);
    }

    [Fact]
    public async Task BinaryDataSizeWithoutTheHeaderIsRefused()
    {
        await using var s = await Start(TestModels.Dense());
        var (status, error) = await Post(s.Http, "v2/models/m/infer",
            """{"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "parameters": {"binary_data_size": 12}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("needs the binary tensor data extension (the Inference-Header-Content-Length header)", error.GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
