using System.Net;
using System.Text.Json;
using Grpc.Net.Client;
using OnnxKeras.Cli.Serving;
using OnnxKeras.Cli.Serving.Grpc;
using Xunit;

namespace OnnxKeras.Inference.Tests;

/// <summary>Several models and versions in one server, and the Triton-style model repository.</summary>
public sealed partial class ServerTests
{
    /// <summary>A repository folder: dense/1 and dense/2 (the same Dense model), relu/3 (FixedRelu), plus things Triton
    /// skips (a config.pbtxt, a non-numeric folder, a stray file).</summary>
    private static string WriteRepository(string root)
    {
        foreach (var (name, version, bytes) in new[] { ("dense", "1", TestModels.Dense()), ("dense", "2", TestModels.Dense()), ("relu", "3", TestModels.FixedRelu()) })
        {
            Directory.CreateDirectory(Path.Combine(root, name, version));
            File.WriteAllBytes(Path.Combine(root, name, version, "model.onnx"), bytes);
        }
        File.WriteAllText(Path.Combine(root, "dense", "config.pbtxt"), "name: \"dense\"\n");
        Directory.CreateDirectory(Path.Combine(root, "dense", "notes"));
        File.WriteAllText(Path.Combine(root, "README"), "not a model");
        return root;
    }

    [Fact]
    public async Task ARepositoryServesEveryModelVersionOverRestAndGrpc()
    {
        string root = WriteRepository(Directory.CreateTempSubdirectory("onnxkeras-repo-").FullName);
        try
        {
            using var repository = ModelRepository.Load(root, TestModels.Cpu());
            Assert.Equal([("dense", "1"), ("dense", "2"), ("relu", "3")], repository.Models.Select(m => (m.Name, m.Version)));
            await using var server = await KServeServer.StartAsync(repository.Models, new ServerOptions { GrpcPort = 0 });
            using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = Timeout };

            // Without a version the highest one answers; each version answers for itself.
            var (status, body) = await Post(http, "v2/models/dense/infer", DenseRequest([1, 2, 3]));
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("2", body.GetProperty("model_version").GetString());
            Assert.Equal(TestModels.DenseReference([1, 2, 3]).Select(v => (float)v), Floats(body.GetProperty("outputs")[0]), new FloatTolerance(1e-6f));
            (status, body) = await Post(http, "v2/models/dense/versions/1/infer", DenseRequest([1, 2, 3]));
            Assert.Equal(("1", HttpStatusCode.OK), (body.GetProperty("model_version").GetString(), status));

            (status, var meta) = await Get(http, "v2/models/dense");
            Assert.Equal(["2", "1"], meta.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
            (status, meta) = await Get(http, "v2/models/relu/versions/3");
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal("relu", meta.GetProperty("name").GetString());

            (status, var error) = await Get(http, "v2/models/dense/versions/3");
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.Contains("has no version '3'; it has version(s) '2', '1'", error.GetProperty("error").GetString(), StringComparison.Ordinal);
            (status, error) = await Get(http, "v2/models/none");
            Assert.Contains("this server serves 'dense', 'relu'", error.GetProperty("error").GetString(), StringComparison.Ordinal);

            using (var index = await http.PostAsync("v2/repository/index", new StringContent("{}")))
            {
                var entries = JsonDocument.Parse(await index.Content.ReadAsStringAsync()).RootElement.EnumerateArray()
                    .Select(e => (e.GetProperty("name").GetString(), e.GetProperty("version").GetString(), e.GetProperty("state").GetString())).ToArray();
                Assert.Equal([("dense", "2", "READY"), ("dense", "1", "READY"), ("relu", "3", "READY")], entries);
            }

            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.GrpcPort}");
            var client = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
            var request = GrpcDenseRequest([1, 2, 3], raw: false);
            request.ModelName = "dense";
            request.ModelVersion = "1";
            var response = await client.ModelInferAsync(request);
            Assert.Equal(("dense", "1"), (response.ModelName, response.ModelVersion));
            Assert.Equal(3, server.RequestsServed);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void BadRepositoriesAreRefusedWithTheFolderNamed()
    {
        string root = Directory.CreateTempSubdirectory("onnxkeras-repo-").FullName;
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ModelRepository.Load(root));
            Assert.Contains("holds no model", e.Message, StringComparison.Ordinal);
            Directory.CreateDirectory(Path.Combine(root, "m", "1"));
            e = Assert.Throws<InvalidDataException>(() => ModelRepository.Load(root));
            Assert.Contains(Path.Combine("m", "1") + "' has no model.onnx", e.Message, StringComparison.Ordinal);
            File.WriteAllBytes(Path.Combine(root, "m", "1", "model.onnx"), [1, 2, 3]);
            Assert.Throws<InvalidDataException>(() => ModelRepository.Load(root));
            Assert.Throws<DirectoryNotFoundException>(() => ModelRepository.Load(Path.Combine(root, "absent")));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task ServedModelsMustHaveUniqueUrlSafeNames()
    {
        using var model = OnnxModel.Load(TestModels.Dense(), TestModels.Cpu());
        await Assert.ThrowsAsync<ArgumentException>(() => KServeServer.StartAsync([new ServedModel("a", "1", model), new ServedModel("a", "1", model)], new ServerOptions()));
        await Assert.ThrowsAsync<ArgumentException>(() => KServeServer.StartAsync([new ServedModel("a/b", "1", model)], new ServerOptions()));
        await Assert.ThrowsAsync<ArgumentException>(() => KServeServer.StartAsync(Array.Empty<ServedModel>(), new ServerOptions()));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(float obj) => 0;
    }
}

/// <summary>Outputs of other element types than FP32, returned by default as the protocol says (all outputs).</summary>
public sealed partial class ServerTests
{
    [Fact]
    public async Task Int64OutputsComeBackOverJsonBinaryAndGrpc()
    {
        // ArgMax over each row of [[1, 5, 2], [7, 0, 3]]: columns 1 and 0, an INT64 output.
        await using var a = await Start(TestModels.ArgMax(), new ServerOptions { ModelName = "a", GrpcPort = 0 });
        string request = """{"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [1, 5, 2, 7, 0, 3]}]}""";
        var (status, body) = await Post(a.Http, "v2/models/a/infer", request);
        Assert.Equal(HttpStatusCode.OK, status);
        var output = Assert.Single(body.GetProperty("outputs").EnumerateArray());
        Assert.Equal(("idx", "INT64"), (output.GetProperty("name").GetString(), output.GetProperty("datatype").GetString()));
        Assert.Equal([1L, 0L], output.GetProperty("data").EnumerateArray().Select(e => e.GetInt64()));

        using var binary = new StringContent(request.TrimEnd('}') + """, "parameters": {"binary_data_output": true}}""");
        using var r = await a.Http.PostAsync("v2/models/a/infer", binary);
        byte[] bytes = await r.Content.ReadAsByteArrayAsync();
        int json = int.Parse(r.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(16, bytes.Length - json);
        Assert.Equal([1L, 0L], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(bytes.AsSpan(json)).ToArray());

        using var grpcChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{a.Server.GrpcPort}");
        var grpc = new GRPCInferenceService.GRPCInferenceServiceClient(grpcChannel);
        var g = GrpcDenseRequest([1, 5, 2, 7, 0, 3], raw: true);
        g.ModelName = "a";
        var response = await grpc.ModelInferAsync(g);
        Assert.Equal("INT64", Assert.Single(response.Outputs).Datatype);
        Assert.Equal([1L, 0L], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(response.RawOutputContents[0].Span).ToArray());
    }
}
