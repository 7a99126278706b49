using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime.Tensors;
using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>
/// Reads an Open Inference Protocol (KServe v2) infer request (JSON, optionally followed by binary tensor data) from
/// the request body as it arrives, token by token, so that memory follows the tensors the request declares, not the
/// size of the body:
/// <list type="bullet">
/// <item>An input's <c>shape</c> and <c>datatype</c> are checked against the model (name, type, rank, fixed dimensions)
/// as soon as its <c>data</c> starts; the element array then grows with the data actually received, never beyond the
/// declared element count, and the first element too many ends the request with 400. (A client that sends <c>data</c>
/// before <c>shape</c>/<c>datatype</c>, which JSON allows and the common clients do not do, has its data kept as text
/// until the object ends: memory then follows the body, still within the body limit.)</item>
/// <item>No JSON token may be longer than <see cref="MaxTokenBytes"/>; nesting is limited to <see cref="MaxDepth"/>.</item>
/// <item>FP32 numbers outside float's range (such as <c>1e39</c>) are refused instead of becoming infinities; the strings
/// <c>"NaN"</c>, <c>"Infinity"</c> and <c>"-Infinity"</c> remain the way to send those values.</item>
/// <item>The binary tensor data extension: with the length of the JSON part (the <c>Inference-Header-Content-Length</c>
/// header) the JSON part ends there, and each input with <c>"parameters": {"binary_data_size": n}</c> takes exactly n bytes
/// (its element count times the element size) from what follows, in input order, with nothing left over. Outputs ask for
/// binary data with <c>binary_data</c> (per output) or <c>binary_data_output</c> (the request). Any other parameter is
/// refused by name.</item>
/// </list>
/// Errors are <see cref="RequestException"/> (400, 413) or <see cref="ArgumentException"/> from the model's input checks.
/// </summary>
internal sealed partial class InferRequestReader
{
    /// <summary>The longest JSON token (a number, string or property name) accepted, in bytes.</summary>
    public const int MaxTokenBytes = 64 * 1024;

    /// <summary>The deepest nesting of arrays and objects accepted (a rank-32 tensor in nested arrays still fits).</summary>
    public const int MaxDepth = 40;

    private readonly OnnxModel model;
    private readonly long maxBodyBytes;

    private JsonReaderState state = new(new JsonReaderOptions { MaxDepth = MaxDepth });
    private readonly Stack<Frame> frames = new();
    private string? property;             // the property whose value comes next, in the current object frame
    private int skipDepth;                // > 0 while skipping an ignored value's containers
    private bool done;
    private readonly byte[] scratch = new byte[256];
    private bool inputsSeen;

    private string? id;
    private readonly List<ParsedInput> inputs = [];
    private List<string>? outputs;
    private InputBuilder? input;          // the input object being read
    private string? outputName;           // the output object being read

    private enum Frame { Root, Inputs, Input, Shape, Data, Outputs, Output, Parameters }

    /// <param name="model">The model the request is checked against.</param>
    /// <param name="maxBodyBytes">The body limit.</param>
    /// <param name="jsonBytes">With the binary tensor data extension, the length of the JSON part
    /// (<c>Inference-Header-Content-Length</c>); binary tensor data follows it. Null without the extension.</param>
    public InferRequestReader(OnnxModel model, long maxBodyBytes, long? jsonBytes = null)
    {
        this.model = model;
        this.maxBodyBytes = maxBodyBytes;
        this.jsonBytes = jsonBytes;
    }

    private readonly long? jsonBytes;
    private HashSet<string>? binaryOutputs;      // null: none; empty: all
    private bool outputBinary;                   // the output object being read asked for binary data

    private static RequestException Bad(string message) => new(400, message);

    /// <summary>Reads the whole request from <paramref name="body"/>. Throws <see cref="RequestException"/> 413 as soon
    /// as more than the limit has arrived.</summary>
    public async Task<InferRequest> ReadAsync(PipeReader body, CancellationToken cancellationToken)
    {
        long consumedTotal = 0;
        while (true)
        {
            var result = await body.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            long consumed = 0;
            bool jsonEnds = false;
            try
            {
                if (consumedTotal + buffer.Length > maxBodyBytes)
                    throw new RequestException(413, $"The request body is larger than the limit of {maxBodyBytes} bytes.");
                var json = buffer;
                if (jsonBytes is long n && consumedTotal + buffer.Length >= n)
                {
                    json = buffer.Slice(0, n - consumedTotal);
                    jsonEnds = true;
                }
                consumed = Feed(json, result.IsCompleted || jsonEnds);
                consumedTotal += consumed;
                if (json.Length - consumed > MaxTokenBytes)
                    throw Bad($"The request body holds a JSON token longer than {MaxTokenBytes} bytes.");
                if (jsonEnds && consumed != json.Length)
                    throw Bad($"The JSON part ends inside a token at Inference-Header-Content-Length {jsonBytes}.");
            }
            finally
            {
                // Also on errors, so that the caller can still drain the rest of the body.
                body.AdvanceTo(buffer.GetPosition(consumed), jsonEnds ? buffer.GetPosition(consumed) : buffer.End);
            }
            if (jsonEnds) break;
            if (result.IsCompleted)
            {
                if (jsonBytes is not null)
                    throw Bad($"The body ends after {consumedTotal} bytes, before the {jsonBytes} bytes of JSON that " +
                        "Inference-Header-Content-Length announces.");
                break;
            }
        }
        if (!done) throw Bad("The request body is not valid JSON: it ends before the request object is complete.");
        if (jsonBytes is not null) await ReadBinaryAsync(body, consumedTotal, cancellationToken).ConfigureAwait(false);
        else if (pendingBinary.Count > 0)
            throw Bad($"Input '{pendingBinary[0].Input.Name}' has binary_data_size, which needs the Inference-Header-Content-Length header.");
        return new InferRequest(id, inputs, outputs is { Count: > 0 } ? outputs.ToArray() : null, binaryOutputs);
    }

    /// <summary>Consumes the complete tokens of <paramref name="buffer"/>; returns the bytes consumed.</summary>
    private long Feed(ReadOnlySequence<byte> buffer, bool final)
    {
        var reader = new Utf8JsonReader(buffer, final, state);
        try
        {
            while (reader.Read()) Token(ref reader);
        }
        catch (JsonException e)
        {
            throw Bad($"The request body is not valid JSON: {e.Message}");
        }
        state = reader.CurrentState;
        return reader.BytesConsumed;
    }

    private void Token(ref Utf8JsonReader r)
    {
        var t = r.TokenType;
        if (skipDepth > 0)
        {
            if (t is JsonTokenType.StartArray or JsonTokenType.StartObject) skipDepth++;
            else if (t is JsonTokenType.EndArray or JsonTokenType.EndObject) skipDepth--;
            return;
        }
        if (frames.Count == 0)
        {
            if (done || t != JsonTokenType.StartObject) throw Bad("The request body must be a JSON object.");
            frames.Push(Frame.Root);
            return;
        }
        var frame = frames.Peek();
        if (frame is Frame.Root or Frame.Input or Frame.Output or Frame.Parameters)
        {
            if (t == JsonTokenType.PropertyName) { property = String(ref r, "a property name"); return; }
            if (t == JsonTokenType.EndObject) { EndObject(frame); return; }
            Value(frame, ref r);
            property = null;
            return;
        }
        switch (frame)
        {
            case Frame.Inputs:
                if (t == JsonTokenType.EndArray) { frames.Pop(); return; }
                if (t != JsonTokenType.StartObject) throw Bad("Each element of 'inputs' must be an object.");
                input = new InputBuilder();
                frames.Push(Frame.Input);
                return;
            case Frame.Outputs:
                if (t == JsonTokenType.EndArray) { frames.Pop(); return; }
                if (t != JsonTokenType.StartObject) throw Bad("Each element of 'outputs' needs a 'name' string.");
                outputName = null;
                outputBinary = false;
                frames.Push(Frame.Output);
                return;
            case Frame.Shape:
                if (t == JsonTokenType.EndArray) { frames.Pop(); return; }
                if (t != JsonTokenType.Number || !r.TryGetInt64(out long dim) || dim < 0)
                    throw Bad($"Input '{input!.Name ?? "?"}' has a shape element that is not a non-negative integer; " +
                        "dimensions must be non-negative integers.");
                if (input!.Shape!.Count >= 64) throw Bad($"Input '{input.Name ?? "?"}' has a shape of more than 64 dimensions.");
                input.Shape.Add(dim);
                return;
            case Frame.Data:
                Data(ref r);
                return;
        }
    }

    /// <summary>A value (anything but a property name or the end) directly inside an object frame.</summary>
    private void Value(Frame frame, ref Utf8JsonReader r)
    {
        var t = r.TokenType;
        switch (frame, property)
        {
            case (Frame.Root, "id"):
                if (t == JsonTokenType.Null) return;
                id = t == JsonTokenType.String ? String(ref r, "'id'") : throw Bad("'id' must be a string.");
                return;
            case (Frame.Root, "inputs"):
                if (t != JsonTokenType.StartArray) throw Bad("The request needs an 'inputs' array.");
                if (inputsSeen) throw Bad("The request has 'inputs' twice.");
                inputsSeen = true;
                frames.Push(Frame.Inputs);
                return;
            case (Frame.Root, "outputs"):
                if (t == JsonTokenType.Null) return;
                if (t != JsonTokenType.StartArray) throw Bad("'outputs' must be an array of {\"name\": ...} objects.");
                outputs ??= [];
                frames.Push(Frame.Outputs);
                return;
            case (_, "parameters") when frame != Frame.Parameters:
                if (t == JsonTokenType.Null) return;
                if (t != JsonTokenType.StartObject) throw Bad("'parameters' must be an object.");
                frames.Push(Frame.Parameters);
                return;
            case (Frame.Parameters, _):
                Parameter(frames.ElementAt(1), property!, ref r);
                return;
            case (Frame.Input, "name"):
                input!.Name = t == JsonTokenType.String ? String(ref r, "an input name") : throw Bad("Each input needs a 'name' string.");
                if (inputs.Any(i => i.Name == input.Name)) throw Bad($"Input '{input.Name}' is given twice.");
                return;
            case (Frame.Input, "shape"):
                if (t != JsonTokenType.StartArray) throw Bad($"Input '{input!.Name ?? "?"}' needs a 'shape' array.");
                input!.Shape = [];
                frames.Push(Frame.Shape);
                return;
            case (Frame.Input, "datatype"):
                input!.Datatype = t == JsonTokenType.String
                    ? String(ref r, "a datatype")
                    : throw Bad($"Input '{input.Name ?? "?"}' needs a 'datatype' string (e.g. \"FP32\").");
                return;
            case (Frame.Input, "data"):
                if (t == JsonTokenType.StartArray)
                {
                    if (input!.Sink is not null || input.Raw is not null) throw Bad($"Input '{input.Name ?? "?"}' has 'data' twice.");
                    if (input.Name is not null && input.Shape is not null && input.Datatype is not null) input.Sink = Sink(input);
                    else input.Raw = new ArrayBufferWriter<byte>();
                    input.DataDepth = 1;
                    frames.Push(Frame.Data);
                    return;
                }
                throw Bad($"Input '{input!.Name ?? "?"}' has 'data' that is not an array of numbers.");
            case (Frame.Output, "name"):
                outputName = t == JsonTokenType.String ? String(ref r, "an output name") : throw Bad("Each element of 'outputs' needs a 'name' string.");
                return;
            default:
                // Keys the protocol does not define here are ignored, as Triton does; their values are skipped.
                if (t is JsonTokenType.StartArray or JsonTokenType.StartObject) skipDepth = 1;
                return;
        }
    }

    private void EndObject(Frame frame)
    {
        frames.Pop();
        property = null;
        switch (frame)
        {
            case Frame.Root:
                if (!inputsSeen) throw Bad("The request needs an 'inputs' array.");
                done = true;
                break;
            case Frame.Input:
                inputs.Add(input!.Finish(this));
                input = null;
                break;
            case Frame.Output:
                if (outputName is null) throw Bad("Each element of 'outputs' needs a 'name' string.");
                if (outputs!.Count >= 4096) throw Bad("'outputs' names more than 4096 outputs.");
                outputs.Add(outputName);
                if (outputBinary) (binaryOutputs ??= []).Add(outputName);
                break;
        }
    }

    /// <summary>A parameter of the request, an input or an output (<paramref name="owner"/>): the binary extension's
    /// <c>binary_data_output</c> (request), <c>binary_data</c> (output; on an input only false), <c>binary_data_size</c>
    /// (input, with the extension header). Anything else is refused by name.</summary>
    private void Parameter(Frame owner, string name, ref Utf8JsonReader r)
    {
        var t = r.TokenType;
        switch (owner, name)
        {
            case (Frame.Input, "binary_data_size"):
                if (jsonBytes is null)
                    throw Bad($"Parameter 'binary_data_size' of input '{input!.Name ?? "?"}' needs the binary tensor data extension " +
                        "(the Inference-Header-Content-Length header).");
                input!.BinarySize = t == JsonTokenType.Number && r.TryGetInt64(out long size) && size >= 0
                    ? size : throw Bad("Parameter 'binary_data_size' must be a non-negative integer.");
                return;
            case (Frame.Root, "binary_data_output"):
                if (Bool(ref r, name)) binaryOutputs = [];
                return;
            case (Frame.Output, "binary_data"):
                outputBinary = Bool(ref r, name);
                return;
            case (Frame.Input, "binary_data"):
                if (!Bool(ref r, name)) return;
                throw Bad($"Parameter 'binary_data' of input '{input!.Name ?? "?"}': give its byte count as 'binary_data_size' instead.");
        }
        if (t is JsonTokenType.StartArray or JsonTokenType.StartObject) skipDepth = 1;
        throw Bad($"Parameter '{name}' is not supported by this server (it accepts binary_data, binary_data_output and binary_data_size).");
    }

    private static bool Bool(ref Utf8JsonReader r, string name) => r.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw Bad($"Parameter '{name}' must be a boolean."),
    };

    private static string String(ref Utf8JsonReader r, string what)
    {
        long length = r.HasValueSequence ? r.ValueSequence.Length : r.ValueSpan.Length;
        if (length > 4096) throw Bad($"The request has {what} longer than 4096 bytes.");
        try
        {
            return r.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw Bad($"The request has {what} that is not valid UTF-8.");
        }
    }
}
