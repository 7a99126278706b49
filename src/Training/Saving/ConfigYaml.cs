using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace OnnxKeras.Saving;

/// <summary>
/// YAML text for model configs, mapped to and from the JSON form: mappings, sequences and scalars only. Tags (which
/// YAML libraries may use to construct arbitrary types) are rejected, so loading a YAML config cannot run code.
/// </summary>
public static class ConfigYaml
{
    /// <summary>The JSON config as YAML.</summary>
    public static string FromJson(string json)
    {
        var node = JsonNode.Parse(json) ?? throw new ArgumentException("The config is empty.");
        var stream = new YamlStream(new YamlDocument(ToYaml(node)));
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        stream.Save(writer, assignAnchors: false);
        return writer.ToString();
    }

    /// <summary>
    /// A YAML config as JSON. The text is read event by event (YamlDotNet's parser, which keeps its own state on the heap)
    /// and converted without recursion, so no input can exhaust the stack; mappings and sequences may nest at most
    /// <see cref="ModelConfig.MaxDepth"/> (64) levels, far more than any Keras config uses.
    /// </summary>
    /// <exception cref="InvalidDataException">The text is not YAML, holds several documents, uses tags, anchors or aliases,
    /// has a non-scalar mapping key, or nests deeper than <see cref="ModelConfig.MaxDepth"/> levels.</exception>
    public static string ToJson(string yaml)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var parser = new Parser(new StringReader(yaml));
        var open = new Stack<Frame>();
        JsonNode? root = null;
        int documents = 0;
        try
        {
            while (MoveNext(parser))
            {
                var ev = parser.Current!;
                if (ev is AnchorAlias alias)
                    throw new InvalidDataException($"YAML anchors are not allowed in a model config; found alias '*{alias.Value}' at {alias.Start}.");
                if (ev is NodeEvent node)
                {
                    if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific)
                        throw new InvalidDataException($"YAML tags are not allowed in a model config; found '{node.Tag}' at {node.Start}.");
                    if (!node.Anchor.IsEmpty)
                        throw new InvalidDataException($"YAML anchors are not allowed in a model config; found '&{node.Anchor}' at {node.Start}.");
                }
                switch (ev)
                {
                    case DocumentStart:
                        if (++documents > 1) throw new InvalidDataException("A model config must be one YAML document; got more than one.");
                        break;
                    case MappingStart or SequenceStart:
                        if (open.Count >= ModelConfig.MaxDepth)
                            throw new InvalidDataException($"The YAML config nests deeper than {ModelConfig.MaxDepth} levels of mappings " +
                                $"and sequences (at {ev.Start}); a Keras config needs far fewer.");
                        JsonNode container = ev is MappingStart ? new JsonObject() : new JsonArray();
                        Add(open, container, ev, ref root);
                        open.Push(new Frame(container));
                        break;
                    case MappingEnd or SequenceEnd:
                        open.Pop();
                        break;
                    case Scalar scalar:
                        if (open.TryPeek(out var top) && top.Node is JsonObject && top.Key is null) top.Key = scalar.Value;
                        else Add(open, ScalarValue(scalar), ev, ref root);
                        break;
                }
            }
        }
        catch (YamlException e)
        {
            throw new InvalidDataException($"The model config is not valid YAML: {e.Message}", e);
        }
        if (documents != 1) throw new InvalidDataException($"A model config must be one YAML document; got {documents}.");
        return (root ?? throw new InvalidDataException("The YAML config is empty.")).ToJsonString();
    }

    /// <summary>
    /// The parser's next event. YamlDotNet's scanner throws <see cref="InvalidOperationException"/> ("Operation is not valid
    /// due to the current state of the object") on some malformed plain scalars inside flow mappings (found by the fuzz
    /// tests); that is malformed YAML like any other.
    /// </summary>
    private static bool MoveNext(Parser parser)
    {
        try
        {
            return parser.MoveNext();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"The model config is not valid YAML: {e.Message}", e);
        }
    }

    /// <summary>A mapping or sequence being filled; a mapping's key waits here for its value.</summary>
    private sealed class Frame(JsonNode node)
    {
        public JsonNode Node { get; } = node;
        public string? Key { get; set; }
    }

    private static void Add(Stack<Frame> open, JsonNode? value, ParsingEvent ev, ref JsonNode? root)
    {
        if (!open.TryPeek(out var top))
        {
            root = value;
            return;
        }
        if (top.Node is JsonArray array)
        {
            array.Add(value);
            return;
        }
        if (top.Key is null) throw new InvalidDataException($"Mapping keys must be plain strings (at {ev.Start}).");
        top.Node[top.Key] = value;
        top.Key = null;
    }

    private static JsonNode? ScalarValue(Scalar scalar)
    {
        string text = scalar.Value;
        if (scalar.Style is ScalarStyle.DoubleQuoted or ScalarStyle.SingleQuoted) return JsonValue.Create(text);
        if (text is "null" or "~" or "") return null;
        if (text is "true" or "false") return JsonValue.Create(text == "true");
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
        return JsonValue.Create(text);
    }

    private static YamlNode ToYaml(JsonNode? node) => node switch
    {
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        JsonObject obj => new YamlMappingNode(obj.Select(kv => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(kv.Key), ToYaml(kv.Value)))),
        JsonArray arr => new YamlSequenceNode(arr.Select(ToYaml)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => new YamlScalarNode(v.GetValue<string>()) { Style = ScalarStyle.DoubleQuoted },
        JsonValue v => new YamlScalarNode(v.ToJsonString()) { Style = ScalarStyle.Plain },
        _ => throw new ArgumentException($"Unexpected JSON node {node}."),
    };
}
