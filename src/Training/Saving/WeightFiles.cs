using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>One stored weight array: its name in the file, its shape and its values (row-major, Keras layout).</summary>
internal sealed record StoredArray(string Name, long[] Shape, float[] Data);

/// <summary>The stored weights of one layer, in the layer's weight order.</summary>
internal sealed record StoredLayer(string Name, IReadOnlyList<StoredArray> Arrays);

/// <summary>
/// What a weights file holds: its layers in file order (for matching by name or position) and, for Keras 3 HDF5 files,
/// every <c>vars</c> group by its object path (<c>layers/dense_1</c>; "" for the root), for matching by Keras's paths.
/// <paramref name="ByLayerName"/> marks files written by earlier OnnxKeras versions (groups named by layer name).
/// </summary>
internal sealed record StoredWeights(List<StoredLayer> Layers, IReadOnlyDictionary<string, List<StoredArray>>? Groups = null, bool ByLayerName = false);

/// <summary>
/// Reading and writing of model weights: safetensors (any path without a Keras extension), Keras 3's
/// <c>.weights.h5</c> layout (<c>layers/dense_1/vars/0..</c>, paths as <see cref="KerasWeightPaths"/> describes) and, for reading, Keras 2's legacy <c>.h5</c> layout
/// (<c>model_weights/&lt;layer&gt;/&lt;layer&gt;/kernel:0</c> with <c>layer_names</c>/<c>weight_names</c> attributes).
/// Loading reads and checks everything before it assigns any weight.
/// </summary>
internal static class WeightFiles
{
    /// <summary>
    /// Root attribute that earlier OnnxKeras versions wrote into <c>.weights.h5</c> files, listing the layer names in model
    /// order; those files named layer groups by layer name. Its presence selects that reading.
    /// </summary>
    private const string OrderAttribute = "onnxkeras_layer_order";

    /// <summary>The layers of <paramref name="model"/> that own weights, in the model's order.</summary>
    public static List<Layer> WeightedLayers(Model model)
    {
        IReadOnlyList<Layer> layers = model is Sequential ? model.Layers : (model.Graph?.Layers ?? model.Layers);
        return layers.Where(l => l is not InputLayer && l.Weights.Count > 0).ToList();
    }

    public static void Save(Model model, string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        RequireBuilt(model, "save its weights");
        if (FileKinds.IsKerasWeights(path))
            AtomicFile.Write(path, s => WriteKerasH5(model, s));
        else if (FileKinds.IsHdf5Extension(path) || FileKinds.IsKerasArchive(path))
            throw new ArgumentException($"SaveWeights writes '.weights.h5' (Keras 3 layout) or safetensors (any other extension); '{path}' names a legacy or whole-model format. Use Save(path) with '.keras' for a whole model.");
        else
            AtomicFile.Write(path, s => SafeTensors.Write(WeightedLayers(model), s));
    }

    /// <summary>Weights and, when the model is compiled and trained, the optimizer's state, in Keras 3's layout (for backups).</summary>
    public static void SaveWithOptimizer(Model model, string path)
    {
        RequireBuilt(model, "save its weights");
        AtomicFile.Write(path, s => WriteKerasH5(model, s, model.IsCompiled ? model.Optimizer : null));
    }

    /// <summary>Loads what <see cref="SaveWithOptimizer"/> wrote: the weights, then the optimizer state if there is one.</summary>
    public static void LoadWithOptimizer(Model model, string path)
    {
        Load(model, path, byName: false, skipMismatch: false);
        if (!model.IsCompiled) return;
        using var stream = File.OpenRead(path);
        if (ReadOptimizerState(stream, path) is not { } saved) return;
        model.Optimizer.BuildFor(model.TrainableWeights);
        model.Optimizer.RestoreState(saved.Iterations, saved.State, path);
    }

    public static IReadOnlyList<string> Load(Model model, string path, bool byName, bool skipMismatch)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file '{path}' does not exist.", path);
        RequireBuilt(model, "load weights");
        StoredWeights stored;
        if (FileKinds.IsKerasArchive(path))
            stored = KerasArchive.ReadWeights(path);
        else if (IsHdf5(path))
            stored = ReadH5(path, () => File.OpenRead(path));
        else if (FileKinds.IsHdf5Extension(path))
            throw new InvalidDataException($"'{path}' is not an HDF5 file (it lacks the HDF5 signature): it may be truncated or of another type.");
        else
            stored = new StoredWeights(SafeTensors.Read(path));
        return Assign(model, stored, path, byName, skipMismatch);
    }

    private static void RequireBuilt(Model model, string what)
    {
        if (!model.Built && model.Layers.Any(l => !l.Built))
            throw new InvalidOperationException($"Model '{model.Name}' is not built, so its weights do not exist yet; give it an input shape (InputLayer / Keras.Input) or call it on data before you {what}.");
    }

    private static bool IsHdf5(string path)
    {
        Span<byte> sig = stackalloc byte[8];
        using var f = File.OpenRead(path);
        int n = f.ReadAtLeast(sig, 8, throwOnEndOfStream: false);
        return n == 8 && sig.SequenceEqual(new byte[] { 0x89, (byte)'H', (byte)'D', (byte)'F', 0x0d, 0x0a, 0x1a, 0x0a });
    }

    // ------------------------------------------------------------------ matching and assignment

    /// <summary>
    /// Matches stored layers to the model's weighted layers, checks every count and shape, then assigns all. A Keras 3
    /// HDF5 file is matched by Keras's object paths when it has a group for every weighted layer of the model; otherwise
    /// (files from earlier OnnxKeras versions, other layouts, <paramref name="byName"/>) by name or by position.
    /// </summary>
    internal static IReadOnlyList<string> Assign(Model model, StoredWeights file, string path, bool byName, bool skipMismatch)
    {
        var layers = WeightedLayers(model);
        var stored = file.Layers.Where(s => s.Arrays.Count > 0).ToList();
        var pairs = new List<(Layer Layer, StoredLayer Stored)>();
        var warnings = new List<string>();
        if (!byName && !file.ByLayerName && file.Groups is { } groups && MatchByKerasPaths(model, layers, stored.Count, groups) is { } byPath)
        {
            pairs = byPath;
            return AssignPairs(model, pairs, path, skipMismatch, warnings);
        }
        var storedByName = new Dictionary<string, StoredLayer>(StringComparer.Ordinal);
        foreach (var s in stored) storedByName.TryAdd(s.Name, s);
        bool sameNames = layers.Count == stored.Count && layers.All(l => storedByName.ContainsKey(l.Name));
        if (byName || sameNames)
        {
            foreach (var l in layers)
            {
                if (storedByName.TryGetValue(l.Name, out var s)) pairs.Add((l, s));
            }
        }
        else
        {
            if (layers.Count != stored.Count)
                throw new InvalidDataException($"'{path}' holds weights for {stored.Count} layer(s) ({string.Join(", ", stored.Select(s => s.Name))}); model '{model.Name}' has {layers.Count} layer(s) with weights ({string.Join(", ", layers.Select(l => l.Name))}). Pass byName: true to load the layers whose names match.");
            pairs.AddRange(layers.Zip(stored));
        }
        return AssignPairs(model, pairs, path, skipMismatch, warnings);
    }

    /// <summary>
    /// Pairs each weighted layer with the arrays at its Keras paths (its groups' <c>vars/0..n</c>, in weight order); null
    /// when a path is missing or the file holds weights for a different number of layers.
    /// </summary>
    private static List<(Layer Layer, StoredLayer Stored)>? MatchByKerasPaths(Model model, List<Layer> layers, int storedCount, IReadOnlyDictionary<string, List<StoredArray>> groups)
    {
        if (storedCount != layers.Count) return null;
        var byLayer = KerasWeightPaths.Walk(model).Layers.ToDictionary(e => e.Layer, e => e.Groups);
        var pairs = new List<(Layer, StoredLayer)>();
        foreach (var layer in layers)
        {
            if (!byLayer.TryGetValue(layer, out var layerGroups) || layerGroups.Count == 0) return null;
            var arrays = new List<StoredArray>();
            foreach (var g in layerGroups.Where(g => g.Variables.Count > 0))
            {
                if (!groups.TryGetValue(g.Path, out var found)) return null;
                arrays.AddRange(found);
            }
            pairs.Add((layer, new StoredLayer(layerGroups[0].Path, arrays)));
        }
        return pairs;
    }

    private static IReadOnlyList<string> AssignPairs(Model model, List<(Layer Layer, StoredLayer Stored)> pairs, string path, bool skipMismatch, List<string> warnings)
    {
        var assignments = new List<(Variable Variable, float[] Data)>();
        foreach (var (layer, s) in pairs)
        {
            var ws = layer.Weights;
            string? problem = null;
            if (ws.Count != s.Arrays.Count)
                problem = $"layer '{layer.Name}' ({layer.GetType().Name}) has {ws.Count} weight(s) with shapes {string.Join(", ", ws.Select(w => w.Shape))}; '{path}' holds {s.Arrays.Count} for layer '{s.Name}' with shapes {string.Join(", ", s.Arrays.Select(a => FormatShape(a.Shape)))}";
            else
            {
                for (int i = 0; i < ws.Count && problem is null; i++)
                {
                    if (!ws[i].Value.shape.SequenceEqual(s.Arrays[i].Shape))
                        problem = $"layer '{layer.Name}' ({layer.GetType().Name}): weight '{ws[i].Path}' has shape {ws[i].Shape}; '{path}' holds shape {FormatShape(s.Arrays[i].Shape)} ('{s.Arrays[i].Name}' of layer '{s.Name}')";
                }
            }
            if (problem is not null)
            {
                if (!skipMismatch) throw new InvalidDataException($"Cannot load weights: {problem}. Nothing was changed.");
                warnings.Add($"Skipping {problem}.");
                continue;
            }
            for (int i = 0; i < ws.Count; i++) assignments.Add((ws[i], s.Arrays[i].Data));
        }
        foreach (var (v, data) in assignments) v.Assign(data);
        foreach (var w in warnings) Console.Error.WriteLine($"Warning: {w}");
        return warnings;
    }

    internal static string FormatShape(long[] shape) => shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";

    // ------------------------------------------------------------------ HDF5 (Keras 3 and legacy Keras 2)

    /// <summary>Reads a Keras 3 <c>.weights.h5</c> or a legacy Keras 2 <c>.h5</c>; <paramref name="open"/> gives a seekable stream.</summary>
    internal static StoredWeights ReadH5(string what, Func<Stream> open)
    {
        try
        {
            using var stream = open();
            CheckNotTruncated(stream, what);
            using var file = H5File.Open(stream, leaveOpen: false);
            if (file.LinkExists("model_weights")) return new StoredWeights(ReadLegacy(file.Group("model_weights"), what));
            if (file.LinkExists("layers")) return ReadKeras3(file.Group("layers"), file, what);
            if (file.AttributeExists("layer_names") || file.AttributeExists("layer_names0")) return new StoredWeights(ReadLegacy(file, what));
            throw new InvalidDataException($"'{what}' is an HDF5 file but holds no Keras weights (no 'layers' group, no 'model_weights' group, no 'layer_names' attribute).");
        }
        catch (Exception e) when (e is not InvalidDataException and not FileNotFoundException)
        {
            throw new InvalidDataException($"'{what}' cannot be read as a Keras HDF5 weights file: {e.Message}", e);
        }
    }

    /// <summary>Compares the superblock's end-of-file address with the stream length (HDF5 readers may not notice a cut-off tail).</summary>
    private static void CheckNotTruncated(Stream stream, string what)
    {
        var head = new byte[64];
        stream.Position = 0;
        int n = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n < 16 || head[0] != 0x89 || head[1] != (byte)'H' || head[2] != (byte)'D' || head[3] != (byte)'F')
            throw new InvalidDataException($"'{what}' is not an HDF5 file (it lacks the HDF5 signature).");
        int version = head[8];
        int offsetSize = version <= 1 ? head[13] : head[9];
        if (offsetSize != 8) return;
        int eofAt = version switch { 0 => 40, 1 => 44, 2 or 3 => 28, _ => -1 };
        if (eofAt < 0 || eofAt + 8 > n) return;
        ulong eof = BinaryPrimitives.ReadUInt64LittleEndian(head.AsSpan(eofAt));
        if (eof != ulong.MaxValue && eof > (ulong)stream.Length)
            throw new InvalidDataException($"'{what}' is truncated: its HDF5 superblock says the file ends at byte {eof}, but it has {stream.Length} bytes.");
    }

    private static StoredWeights ReadKeras3(IH5Group layersGroup, IH5Group root, string what)
    {
        var result = new List<StoredLayer>();
        var groups = new Dictionary<string, List<StoredArray>>(StringComparer.Ordinal);
        CollectVars(root, "", groups, what);
        var names = ReadStrings(root, OrderAttribute);
        var children = layersGroup.Children().OfType<IH5Group>().ToList();
        var order = names is null ? children.OrderBy(g => g.Name, NaturalComparer.Instance).ToList()
            : children.OrderBy(g => Array.IndexOf(names, g.Name) is int i && i >= 0 ? i : int.MaxValue).ThenBy(g => g.Name, NaturalComparer.Instance).ToList();
        foreach (var g in order)
        {
            var arrays = new List<StoredArray>();
            Flatten(g, $"layers/{g.Name}", arrays, groups, what);
            // Keras 3.8+ records the layer's name on its vars group; files without it are named by their group.
            string name = g.LinkExists("vars") && ReadStrings(g.Group("vars"), "name") is [var n] ? n : g.Name;
            result.Add(new StoredLayer(name, arrays));
        }
        return new StoredWeights(result, groups, ByLayerName: names is not null);
    }

    /// <summary>Every <c>vars</c> group under <paramref name="group"/>, keyed by its parent's path, with its arrays in index order.</summary>
    private static void CollectVars(IH5Group group, string path, Dictionary<string, List<StoredArray>> into, string what)
    {
        foreach (var child in group.Children().OfType<IH5Group>())
        {
            string childPath = path.Length == 0 ? child.Name : $"{path}/{child.Name}";
            if (child.Name == "vars")
            {
                into[path] = child.Children().OfType<IH5Dataset>()
                    .Select(d => (Index: int.TryParse(d.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : -1, Dataset: d))
                    .Where(p => p.Index >= 0).OrderBy(p => p.Index)
                    .Select(p => ReadArray(p.Dataset, $"{childPath}/{p.Index}", what)).ToList();
            }
            else if (path.Length > 0 || child.Name == "layers") CollectVars(child, childPath, into, what);
        }
    }

    /// <summary>A layer group's arrays in Keras's weight order: its own <c>vars/0..n</c>, then its sublayers' groups.</summary>
    private static void Flatten(IH5Group group, string path, List<StoredArray> into, Dictionary<string, List<StoredArray>> read, string what)
    {
        var children = group.Children().ToList();
        if (read.TryGetValue(path, out var arrays)) into.AddRange(arrays);
        static int Rank(string n) => n switch { "cell" => 0, "forward_layer" => 1, "backward_layer" => 2, _ => 3 };
        // Our files list a layer's sublayers in weight order; Keras's own are ordered by name.
        var order = ReadStrings(group, OrderAttribute);
        int Written(string n) => order is null ? 0 : Array.IndexOf(order, n) is int i && i >= 0 ? i : int.MaxValue;
        foreach (var sub in children.OfType<IH5Group>().Where(c => c.Name != "vars" && !c.Name.Contains("seed_generator", StringComparison.Ordinal))
                     .OrderBy(c => Rank(c.Name)).ThenBy(c => Written(c.Name)).ThenBy(c => c.Name, NaturalComparer.Instance))
            Flatten(sub, $"{path}/{sub.Name}", into, read, what);
    }

    private static List<StoredLayer> ReadLegacy(IH5Group root, string what)
    {
        var layerNames = ReadStrings(root, "layer_names") ?? throw new InvalidDataException($"'{what}': legacy weights group has no 'layer_names' attribute.");
        var result = new List<StoredLayer>();
        foreach (var name in layerNames)
        {
            if (!root.LinkExists(name)) throw new InvalidDataException($"'{what}': layer '{name}' is listed in 'layer_names' but has no group.");
            var g = root.Group(name);
            var weightNames = ReadStrings(g, "weight_names") ?? [];
            var arrays = new List<StoredArray>();
            foreach (var wn in weightNames)
            {
                IH5Group cur = g;
                var parts = wn.Split('/');
                foreach (var p in parts[..^1]) cur = cur.Group(p);
                arrays.Add(ReadArray(cur.Dataset(parts[^1]), $"{name}/{wn}", what));
            }
            result.Add(new StoredLayer(name, arrays));
        }
        return result;
    }

    /// <summary>A string-list attribute (also split as <c>name0</c>, <c>name1</c>, ...); null when absent; empty for Keras's empty float array.</summary>
    private static string[]? ReadStrings(IH5Object obj, string name)
    {
        if (obj.AttributeExists(name)) return ReadStringAttribute(obj.Attribute(name));
        if (!obj.AttributeExists(name + "0")) return null;
        var all = new List<string>();
        for (int k = 0; obj.AttributeExists($"{name}{k}"); k++) all.AddRange(ReadStringAttribute(obj.Attribute($"{name}{k}")));
        return all.ToArray();
    }

    private static string[] ReadStringAttribute(IH5Attribute attr)
    {
        if (attr.Type.Class is not (H5DataTypeClass.String or H5DataTypeClass.VariableLength)) return [];
        if (attr.Space.Dimensions.Length == 0) return [attr.Read<string>()];
        return attr.Read<string[]>();
    }

    /// <summary>
    /// The optimizer variables of a Keras 3 weights file (<c>optimizer/vars</c>): the iteration count and the state tensors
    /// after the learning rate; null when the file has none.
    /// </summary>
    internal static (long Iterations, List<float[]> State)? ReadOptimizerState(Stream stream, string what)
    {
        using var file = H5File.Open(stream, leaveOpen: true);
        if (!file.LinkExists("optimizer") || !file.Group("optimizer").LinkExists("vars")) return null;
        var vars = file.Group("optimizer").Group("vars").Children().OfType<IH5Dataset>()
            .Select(d => (Index: int.TryParse(d.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : -1, Dataset: d))
            .Where(p => p.Index >= 0).OrderBy(p => p.Index).ToList();
        if (vars.Count < 2) return null;
        var first = vars[0].Dataset;
        long iterations = first.Type.Class == H5DataTypeClass.FixedPoint
            ? (first.Space.Dimensions.Length == 0 ? first.Read<long>() : first.Read<long[]>()[0])
            : (long)(first.Space.Dimensions.Length == 0 ? first.Read<double>() : first.Read<double[]>()[0]);
        var state = vars.Skip(2).Select(p => ReadArray(p.Dataset, $"optimizer/vars/{p.Index}", what).Data).ToList();
        return (iterations, state);
    }

    private static StoredArray ReadArray(IH5Dataset ds, string name, string what)
    {
        var shape = ds.Space.Dimensions.Select(d => (long)d).ToArray();
        float[] data;
        if (ds.Type.Class == H5DataTypeClass.FloatingPoint && ds.Type.Size == 4) data = ds.Read<float[]>();
        else if (ds.Type.Class == H5DataTypeClass.FloatingPoint && ds.Type.Size == 8) data = ds.Read<double[]>().Select(x => (float)x).ToArray();
        else throw new InvalidDataException($"'{what}': weight '{name}' has HDF5 type {ds.Type.Class} of {ds.Type.Size} bytes; only float32/float64 weights can be loaded.");
        long n = shape.Aggregate(1L, (a, b) => a * b);
        if (data.LongLength != n) throw new InvalidDataException($"'{what}': weight '{name}' of shape {FormatShape(shape)} holds {data.LongLength} values.");
        return new StoredArray(name, shape, data);
    }

    /// <summary>
    /// Writes Keras 3's <c>.weights.h5</c> layout as Keras's <c>save_weights</c> does: a group per tracked object at its
    /// Keras path (<see cref="KerasWeightPaths"/>; <c>layers/dense_1</c>, <c>layers/lstm/cell</c>), each with a
    /// <c>vars</c> group (attribute <c>name</c>: the object's name) holding its own variables as <c>0..n</c>; the model's
    /// own <c>vars</c>; and, when compiled, <c>optimizer/vars</c>.
    /// </summary>
    internal static void WriteKerasH5(Model model, Stream stream, Optimizers.Optimizer? optimizer = null)
    {
        var file = new H5File();
        foreach (var g in KerasWeightPaths.AllGroups(model))
        {
            var vars = new H5Group();
            vars.Attributes["name"] = new H5Attribute(g.Name);
            for (int i = 0; i < g.Variables.Count; i++)
            {
                var v = g.Variables[i];
                vars[i.ToString(CultureInfo.InvariantCulture)] = new H5Dataset(v.ToArray(), fileDims: v.Value.shape.Select(d => (ulong)d).ToArray());
            }
            GroupAt(file, g.Path)["vars"] = vars;
        }
        if (optimizer is not null)
        {
            // Keras 3's optimizer variables: 0 the iteration count, 1 the learning rate, then the state in creation order.
            var optimizerVars = new H5Group();
            optimizerVars.Attributes["name"] = new H5Attribute(optimizer.Name);
            if (optimizer.IsBuilt)
            {
                optimizerVars["0"] = new H5Dataset(new long[] { optimizer.Iterations }, fileDims: []); // scalars, as Keras writes them
                optimizerVars["1"] = new H5Dataset(new float[] { (float)optimizer.CurrentLearningRate }, fileDims: []);
                for (int i = 0; i < optimizer.Slots.Count; i++)
                {
                    var slot = optimizer.Slots[i];
                    using var cpu = slot.detach().cpu().contiguous();
                    optimizerVars[(i + 2).ToString(CultureInfo.InvariantCulture)] = new H5Dataset(cpu.data<float>().ToArray(), fileDims: slot.shape.Select(d => (ulong)d).ToArray());
                }
            }
            file["optimizer"] = new H5Group { ["vars"] = optimizerVars };
        }
        file.Write(stream);
    }

    /// <summary>The group at a slash-separated path under <paramref name="root"/>, created as needed ("" is the root).</summary>
    private static H5Group GroupAt(H5Group root, string path)
    {
        var at = root;
        foreach (var part in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!at.TryGetValue(part, out var child)) at[part] = child = new H5Group();
            at = child as H5Group ?? throw new InvalidOperationException($"Weights path '{path}' passes through a dataset.");
        }
        return at;
    }

    /// <summary>
    /// Keras 2's legacy weights layout (<c>save_weights_to_hdf5_group</c>), filled into <paramref name="group"/>: attributes
    /// <c>layer_names</c> (every layer of the model, weights or not), <c>backend</c> and <c>keras_version</c>; one group
    /// per layer with a <c>weight_names</c> attribute (<c>dense/kernel:0</c>, ...; an empty float64 array for a layer
    /// without weights, as Keras writes it) and each weight as a dataset at its name's path
    /// (<c>dense/dense/kernel:0</c>). Weights are in the layer's order, which for every built-in layer is Keras 2's
    /// trainable-then-non-trainable order (BatchNormalization: gamma, beta, moving_mean, moving_variance).
    /// </summary>
    /// <remarks>
    /// h5py stores those name lists as fixed-length string arrays; PureHDF writes strings as variable-length only
    /// (its fixed-length option applies to every string in the file, <c>model_config</c> included), so these are
    /// variable-length string arrays, which h5py returns as <c>str</c>: Keras 3 and tf.keras (2.4 and later) decode both.
    /// </remarks>
    internal static void FillLegacyWeightsGroup(H5Group group, IReadOnlyList<Layer> layers, string kerasVersion, string backend)
    {
        var duplicate = layers.GroupBy(l => l.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"Two layers are named '{duplicate.Key}'; the legacy .h5 layout keys layers by name, so names must be unique.");
        SetStringList(group.Attributes, "layer_names", layers.Select(l => l.Name).ToList());
        group.Attributes["backend"] = new H5Attribute(backend);
        group.Attributes["keras_version"] = new H5Attribute(kerasVersion);
        foreach (var layer in layers)
        {
            var g = new H5Group();
            var names = new List<string>();
            foreach (var v in layer.Weights)
            {
                // Keras 2 names a weight by its variable's name: the owning layer's name, the weight's, and ":0".
                string baseName = v.Path.StartsWith(layer.Name + "/", StringComparison.Ordinal) ? v.Path : $"{layer.Name}/{v.Path}";
                string name = $"{baseName}:0";
                for (int k = 1; names.Contains(name); k++) name = $"{baseName}_{k}:0";
                names.Add(name);
                var parts = name.Split('/');
                var at = g;
                foreach (var part in parts[..^1])
                {
                    if (!at.TryGetValue(part, out var child)) at[part] = child = new H5Group();
                    at = child as H5Group ?? throw new InvalidOperationException($"Layer '{layer.Name}': weight name '{name}' collides with another weight's path.");
                }
                at[parts[^1]] = new H5Dataset(v.ToArray(), fileDims: v.Value.shape.Select(d => (ulong)d).ToArray());
            }
            if (names.Count == 0) g.Attributes["weight_names"] = new H5Attribute(Array.Empty<double>(), dimensions: [0]);
            else SetStringList(g.Attributes, "weight_names", names);
            group[layer.Name] = g;
        }
    }

    /// <summary>
    /// A list of names as a string-array attribute, split into <c>name0</c>, <c>name1</c>, ... as Keras does when one
    /// attribute would pass HDF5's 64 KB object-header limit (each variable-length entry takes 16 bytes there).
    /// </summary>
    private static void SetStringList(IDictionary<string, object> attributes, string name, IReadOnlyList<string> values)
    {
        const int perChunk = 2048;
        if (values.Count <= perChunk)
        {
            attributes[name] = new H5Attribute(values.ToArray());
            return;
        }
        for (int k = 0; k * perChunk < values.Count; k++)
            attributes[$"{name}{k}"] = new H5Attribute(values.Skip(k * perChunk).Take(perChunk).ToArray());
    }
}

/// <summary>Orders names like <c>dense, dense_1, dense_2, dense_10</c> (numbers by value).</summary>
internal sealed class NaturalComparer : IComparer<string>
{
    public static readonly NaturalComparer Instance = new();

    public int Compare(string? x, string? y)
    {
        if (x is null || y is null) return string.CompareOrdinal(x, y);
        int i = 0, j = 0;
        while (i < x.Length && j < y.Length)
        {
            if (char.IsDigit(x[i]) && char.IsDigit(y[j]))
            {
                int si = i, sj = j;
                while (i < x.Length && char.IsDigit(x[i])) i++;
                while (j < y.Length && char.IsDigit(y[j])) j++;
                int c = decimal.Parse(x[si..i], CultureInfo.InvariantCulture).CompareTo(decimal.Parse(y[sj..j], CultureInfo.InvariantCulture));
                if (c != 0) return c;
            }
            else
            {
                if (x[i] != y[j]) return x[i].CompareTo(y[j]);
                i++;
                j++;
            }
        }
        return (x.Length - i).CompareTo(y.Length - j);
    }
}

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping tensor names to
/// <c>{"dtype", "shape", "data_offsets"}</c> (plus <c>__metadata__</c>), then the raw little-endian data.
/// Tensor names are the variables' paths (<c>dense/kernel</c>); the metadata records the layer order.
/// </summary>
internal static class SafeTensors
{
    public static void Write(IReadOnlyList<Layer> layers, Stream stream)
    {
        var entries = new List<(string Name, long[] Shape, float[] Data)>();
        var layerList = new List<object?>();
        foreach (var l in layers)
        {
            var names = new List<object?>();
            foreach (var v in l.Weights)
            {
                string name = entries.Any(e => e.Name == v.Path) ? $"{l.Name}/{v.Path}" : v.Path;
                entries.Add((name, v.Value.shape, v.ToArray()));
                names.Add(name);
            }
            layerList.Add(new List<object?> { l.Name, names });
        }
        var header = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["__metadata__"] = new Dictionary<string, object?> { ["format"] = "pt", ["producer"] = "onnxkeras", ["layers"] = ConfigJson.Write(layerList) },
        };
        long offset = 0;
        foreach (var (name, shape, data) in entries)
        {
            long size = data.LongLength * 4;
            header[name] = new Dictionary<string, object?> { ["dtype"] = "F32", ["shape"] = shape, ["data_offsets"] = new[] { offset, offset + size } };
            offset += size;
        }
        var json = Encoding.UTF8.GetBytes(ConfigJson.Write(header));
        int pad = (8 - json.Length % 8) % 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        stream.Write(len);
        stream.Write(json);
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var (_, _, data) in entries)
        {
            var bytes = new byte[data.Length * 4];
            for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
            stream.Write(bytes);
        }
    }

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "...";

    public static List<StoredLayer> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        string Bad(string why) => $"'{path}' is not a valid safetensors weights file: {why}.";
        if (bytes.Length < 8) throw new InvalidDataException(Bad($"it has only {bytes.Length} bytes"));
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen == 0 || headerLen > (ulong)(bytes.Length - 8)) throw new InvalidDataException(Bad($"its header length {headerLen} does not fit the file's {bytes.Length} bytes (truncated, or another file type)"));
        // Names and strings are read as .NET strings below; invalid UTF-8 would surface there as InvalidOperationException.
        if (!System.Text.Unicode.Utf8.IsValid(bytes.AsSpan(8, (int)headerLen)))
            throw new InvalidDataException(Bad("its header is not valid UTF-8"));
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLen));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException(Bad($"its header is not JSON ({e.Message})"), e);
        }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException(Bad("its header is not a JSON object"));
        long dataStart = 8 + (long)headerLen, dataLen = bytes.LongLength - dataStart;
        var tensors = new Dictionary<string, StoredArray>(StringComparer.Ordinal);
        var order = new List<(long Begin, string Name)>();
        string? layersMeta = null;
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("layers", out var lm) && lm.ValueKind == JsonValueKind.String) layersMeta = lm.GetString();
                continue;
            }
            try
            {
                string dtype = p.Value.GetProperty("dtype").GetString() ?? "";
                var shape = p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                var offs = p.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
                int elem = dtype switch { "F32" => 4, "F64" => 8, "F16" => 2, _ => throw new InvalidDataException(Bad($"tensor '{p.Name}' has dtype {dtype}; only F32, F64 and F16 are supported")) };
                // The element count is bounded by the data (every tensor lies inside it) before it can overflow.
                long n = 1;
                foreach (var d in shape)
                {
                    if (d < 0) throw new InvalidDataException(Bad($"tensor '{p.Name}' has the negative dimension {d} in shape {WeightFiles.FormatShape(shape)}"));
                    if (d != 0 && n > dataLen / elem / d)
                        throw new InvalidDataException(Bad($"tensor '{p.Name}' of shape {WeightFiles.FormatShape(shape)} and dtype {dtype} needs more bytes than the file's {dataLen} data bytes"));
                    n *= d;
                }
                if (offs.Length != 2 || offs[0] < 0 || offs[1] < offs[0] || offs[1] > dataLen)
                    throw new InvalidDataException(Bad($"tensor '{p.Name}' has data offsets [{string.Join(", ", offs)}] outside the {dataLen} data bytes (truncated?)"));
                if (offs[1] - offs[0] != n * elem)
                    throw new InvalidDataException(Bad($"tensor '{p.Name}' of shape {WeightFiles.FormatShape(shape)} and dtype {dtype} needs {n * elem} bytes; its offsets span {offs[1] - offs[0]}"));
                var span = bytes.AsSpan((int)(dataStart + offs[0]), (int)(offs[1] - offs[0]));
                var data = new float[n];
                for (long i = 0; i < n; i++)
                {
                    data[i] = elem switch
                    {
                        4 => BinaryPrimitives.ReadSingleLittleEndian(span[(int)(i * 4)..]),
                        8 => (float)BinaryPrimitives.ReadDoubleLittleEndian(span[(int)(i * 8)..]),
                        _ => (float)BinaryPrimitives.ReadHalfLittleEndian(span[(int)(i * 2)..]),
                    };
                }
                tensors[p.Name] = new StoredArray(p.Name, shape, data);
                order.Add((offs[0], p.Name));
            }
            catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException(Bad($"tensor '{p.Name}' lacks a valid dtype, shape or data_offsets"), e);
            }
        }
        if (layersMeta is not null)
        {
            try
            {
                using var meta = JsonDocument.Parse(layersMeta);
                return meta.RootElement.EnumerateArray().Select(e =>
                {
                    // Each entry is [layer name, [tensor names]]: strings only (a null used to escape as ArgumentNullException).
                    if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != 2 || e[0].ValueKind != JsonValueKind.String || e[1].ValueKind != JsonValueKind.Array
                        || e[1].EnumerateArray().Any(t => t.ValueKind != JsonValueKind.String))
                        throw new InvalidDataException(Bad($"its '__metadata__.layers' entry {Shorten(e.GetRawText())} is not [layer name, [tensor names]]"));
                    var name = e[0].GetString()!;
                    var arrays = e[1].EnumerateArray().Select(t => tensors.TryGetValue(t.GetString()!, out var a) ? a
                        : throw new InvalidDataException(Bad($"its metadata lists tensor '{t.GetString()}', which is missing"))).ToList();
                    return new StoredLayer(name, arrays);
                }).ToList();
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or IndexOutOfRangeException)
            {
                throw new InvalidDataException(Bad("its '__metadata__.layers' entry is malformed"), e);
            }
        }
        // A file from elsewhere: group tensors by the layer part of their name ("dense/kernel"), in data order.
        var groups = new List<(string Layer, List<StoredArray> Arrays)>();
        foreach (var (_, name) in order.OrderBy(o => o.Begin))
        {
            int slash = name.LastIndexOf('/');
            string layer = slash < 0 ? name : name[..slash];
            var g = groups.FirstOrDefault(x => x.Layer == layer);
            if (g.Arrays is null) groups.Add((layer, [tensors[name]]));
            else g.Arrays.Add(tensors[name]);
        }
        return groups.Select(g => new StoredLayer(g.Layer, g.Arrays)).ToList();
    }
}
