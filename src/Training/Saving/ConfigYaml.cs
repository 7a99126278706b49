using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
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

    /// <summary>A YAML config as JSON.</summary>
    /// <exception cref="InvalidDataException">The text is not YAML, holds several documents, or uses tags or anchors.</exception>
    public static string ToJson(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new InvalidDataException($"The model config is not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count != 1) throw new InvalidDataException($"A model config must be one YAML document; got {stream.Documents.Count}.");
        return (ToJsonNode(stream.Documents[0].RootNode) ?? throw new InvalidDataException("The YAML config is empty.")).ToJsonString();
    }

    private static YamlNode ToYaml(JsonNode? node) => node switch
    {
        null => new YamlScalarNode("null") { Style = YamlDotNet.Core.ScalarStyle.Plain },
        JsonObject obj => new YamlMappingNode(obj.Select(kv => new KeyValuePair<YamlNode, YamlNode>(new YamlScalarNode(kv.Key), ToYaml(kv.Value)))),
        JsonArray arr => new YamlSequenceNode(arr.Select(ToYaml)),
        JsonValue v when v.GetValueKind() == JsonValueKind.String => new YamlScalarNode(v.GetValue<string>()) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted },
        JsonValue v => new YamlScalarNode(v.ToJsonString()) { Style = YamlDotNet.Core.ScalarStyle.Plain },
        _ => throw new ArgumentException($"Unexpected JSON node {node}."),
    };

    private static JsonNode? ToJsonNode(YamlNode node)
    {
        if (!node.Tag.IsEmpty && !node.Tag.IsNonSpecific) throw new InvalidDataException($"YAML tags are not allowed in a model config; found '{node.Tag}' at {node.Start}.");
        if (!node.Anchor.IsEmpty) throw new InvalidDataException($"YAML anchors are not allowed in a model config; found '&{node.Anchor}' at {node.Start}.");
        switch (node)
        {
            case YamlMappingNode map:
                var obj = new JsonObject();
                foreach (var (k, v) in map.Children)
                {
                    if (k is not YamlScalarNode key || key.Value is null) throw new InvalidDataException($"Mapping keys must be plain strings (at {k.Start}).");
                    obj[key.Value] = ToJsonNode(v);
                }
                return obj;
            case YamlSequenceNode seq:
                return new JsonArray(seq.Children.Select(ToJsonNode).ToArray());
            case YamlScalarNode scalar:
                string text = scalar.Value ?? "";
                if (scalar.Style is YamlDotNet.Core.ScalarStyle.DoubleQuoted or YamlDotNet.Core.ScalarStyle.SingleQuoted) return JsonValue.Create(text);
                if (text is "null" or "~" or "") return null;
                if (text is "true" or "false") return JsonValue.Create(text == "true");
                if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)) return JsonValue.Create(l);
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return JsonValue.Create(d);
                return JsonValue.Create(text);
            default:
                throw new InvalidDataException($"Unsupported YAML node at {node.Start}.");
        }
    }
}
