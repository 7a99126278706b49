using System.Globalization;
using OnnxKeras.Models;
using PureHDF;

namespace OnnxKeras.Saving;

/// <summary>
/// Keras 3's <c>.weights.h5</c> layout (<c>layers/dense_1/vars/0..</c>, paths as <see cref="KerasWeightPaths"/> describes):
/// reading its layers and optimizer state, and writing it as Keras's <c>save_weights</c> does.
/// </summary>
internal static class KerasWeightsH5
{
    /// <summary>
    /// Root attribute that earlier OnnxKeras versions wrote into <c>.weights.h5</c> files, listing the layer names in model
    /// order; those files named layer groups by layer name. Its presence selects that reading.
    /// </summary>
    private const string OrderAttribute = "onnxkeras_layer_order";

    /// <summary>The layers of a Keras 3 weights file (<paramref name="layersGroup"/> is its <c>layers</c> group) and
    /// every <c>vars</c> group by its path.</summary>
    internal static StoredWeights Read(IH5Group layersGroup, IH5Group root, string what)
    {
        var result = new List<StoredLayer>();
        var groups = new Dictionary<string, List<StoredArray>>(StringComparer.Ordinal);
        var named = new Dictionary<string, StoredArray>(StringComparer.Ordinal);
        CollectVars(root, "", groups, named, what);
        var names = WeightsH5.ReadStrings(root, OrderAttribute);
        var children = layersGroup.Children().OfType<IH5Group>().ToList();
        var order = names is null ? children.OrderBy(g => g.Name, NaturalComparer.Instance).ToList()
            : children.OrderBy(g => Array.IndexOf(names, g.Name) is int i && i >= 0 ? i : int.MaxValue).ThenBy(g => g.Name, NaturalComparer.Instance).ToList();
        foreach (var g in order)
        {
            var arrays = new List<StoredArray>();
            Flatten(g, $"layers/{g.Name}", arrays, groups, what);
            // Keras 3.8+ records the layer's name on its vars group; files without it are named by their group.
            string name = g.LinkExists("vars") && WeightsH5.ReadStrings(g.Group("vars"), "name") is [var n] ? n : g.Name;
            result.Add(new StoredLayer(name, arrays));
        }
        return new StoredWeights(result, groups, ByLayerName: names is not null) { NamedVariables = named };
    }

    /// <summary>The names of the variables that are no weights which this reader takes from a <c>vars</c> group (Keras's
    /// <c>save_own_variables</c> of the lookup layers writes <c>idf_weights</c>).</summary>
    private static readonly string[] NamedVariableNames = ["idf_weights"];

    /// <summary>Every <c>vars</c> group under <paramref name="group"/>, keyed by its parent's path, with its arrays in index order.</summary>
    private static void CollectVars(IH5Group group, string path, Dictionary<string, List<StoredArray>> into,
        Dictionary<string, StoredArray> named, string what)
    {
        foreach (var child in group.Children().OfType<IH5Group>())
        {
            string childPath = path.Length == 0 ? child.Name : $"{path}/{child.Name}";
            if (child.Name == "vars")
            {
                foreach (var d in child.Children().OfType<IH5Dataset>().Where(d => NamedVariableNames.Contains(d.Name)))
                    named[path.Length == 0 ? d.Name : $"{path}/{d.Name}"] = WeightsH5.ReadArray(d, $"{childPath}/{d.Name}", what);
                into[path] = child.Children().OfType<IH5Dataset>()
                    .Select(d => (Index: int.TryParse(d.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : -1, Dataset: d))
                    .Where(p => p.Index >= 0).OrderBy(p => p.Index)
                    .Select(p => WeightsH5.ReadArray(p.Dataset, $"{childPath}/{p.Index}", what)).ToList();
            }
            else if (path.Length > 0 || child.Name == "layers") CollectVars(child, childPath, into, named, what);
        }
    }

    /// <summary>A layer group's arrays in Keras's weight order: its own <c>vars/0..n</c>, then its sublayers' groups.</summary>
    private static void Flatten(IH5Group group, string path, List<StoredArray> into, Dictionary<string, List<StoredArray>> read, string what)
    {
        var children = group.Children().ToList();
        if (read.TryGetValue(path, out var arrays)) into.AddRange(arrays);
        static int Rank(string n) => n switch { "cell" => 0, "forward_layer" => 1, "backward_layer" => 2, _ => 3 };
        // Our files list a layer's sublayers in weight order; Keras's own are ordered by name.
        var order = WeightsH5.ReadStrings(group, OrderAttribute);
        int Written(string n) => order is null ? 0 : Array.IndexOf(order, n) is int i && i >= 0 ? i : int.MaxValue;
        foreach (var sub in children.OfType<IH5Group>().Where(c => c.Name != "vars" && !c.Name.Contains("seed_generator", StringComparison.Ordinal))
                     .OrderBy(c => Rank(c.Name)).ThenBy(c => Written(c.Name)).ThenBy(c => c.Name, NaturalComparer.Instance))
            Flatten(sub, $"{path}/{sub.Name}", into, read, what);
    }

    /// <summary>
    /// Attribute of <c>optimizer/vars</c> in the files OnnxKeras writes, saying that the state follows Keras's order (value
    /// <c>keras</c>); files without it are Keras's own or from earlier OnnxKeras versions.
    /// </summary>
    internal const string StateOrderAttribute = "onnxkeras_state_order";

    /// <summary>
    /// The optimizer variables of a Keras 3 weights file (<c>optimizer/vars</c>): the iteration count and the variables after
    /// it (the learning rate when constant, the state, trailing scalars; <see cref="Optimizers.Optimizer.RestoreState(long, OptimizerVariables, string)"/>
    /// sorts them out); null when the file has none. <paramref name="writtenByOnnxKeras"/>: the file is known to come from
    /// OnnxKeras (a <c>.keras</c> file whose metadata names it), so that without <see cref="StateOrderAttribute"/> it holds
    /// the grouped order OnnxKeras wrote before.
    /// </summary>
    internal static SavedOptimizerState? ReadOptimizerState(Stream stream, string what, bool writtenByOnnxKeras = false) =>
        WeightsH5.Guard(what, () =>
        {
            using var file = WeightsH5.Open(stream, leaveOpen: true);
            return ReadOptimizerState(file, what, writtenByOnnxKeras);
        });

    /// <summary>The optimizer variables of an open Keras 3 weights file (see <see cref="ReadOptimizerState(Stream, string, bool)"/>);
    /// the caller guards the read.</summary>
    internal static SavedOptimizerState? ReadOptimizerState(IH5Group file, string what, bool writtenByOnnxKeras)
    {
        if (!file.LinkExists("optimizer") || !file.Group("optimizer").LinkExists("vars")) return null;
        var group = file.Group("optimizer").Group("vars");
        var vars = group.Children().OfType<IH5Dataset>()
            .Select(d => (Index: int.TryParse(d.Name, NumberStyles.None, CultureInfo.InvariantCulture, out int k) ? k : -1, Dataset: d))
            .Where(p => p.Index >= 0).OrderBy(p => p.Index).ToList();
        if (vars.Count < 1) return null;
        var first = vars[0].Dataset;
        long iterations = first.Type.Class == H5DataTypeClass.FixedPoint
            ? (first.Space.Dimensions.Length == 0 ? first.Read<long>() : first.Read<long[]>()[0])
            : (long)(first.Space.Dimensions.Length == 0 ? first.Read<double>() : first.Read<double[]>()[0]);
        var rest = vars.Skip(1).Select(p => WeightsH5.ReadArray(p.Dataset, $"optimizer/vars/{p.Index}", what)).ToList();
        var source = group.AttributeExists(StateOrderAttribute) && WeightsH5.ReadStrings(group, StateOrderAttribute) is ["keras"]
            ? Optimizers.OptimizerStateSource.KerasOrder
            : writtenByOnnxKeras ? Optimizers.OptimizerStateSource.OnnxKerasV1 : Optimizers.OptimizerStateSource.Unknown;
        return new SavedOptimizerState(iterations, new OptimizerVariables(rest, source));
    }

    /// <summary>
    /// Writes Keras 3's <c>.weights.h5</c> layout as Keras's <c>save_weights</c> does: a group per tracked object at its
    /// Keras path (<see cref="KerasWeightPaths"/>; <c>layers/dense_1</c>, <c>layers/lstm/cell</c>), each with a
    /// <c>vars</c> group (attribute <c>name</c>: the object's name) holding its own variables as <c>0..n</c>; the model's
    /// own <c>vars</c>; and, when compiled, <c>optimizer/vars</c>.
    /// </summary>
    internal static void Write(Model model, Stream stream, Optimizers.Optimizer? optimizer = null)
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
        // Keras's save_own_variables of layers that keep state beside their weights (an adapted TF-IDF lookup's idf_weights).
        foreach (var g in KerasWeightPaths.AllGroups(model))
        {
            if (g.Owner is not IKerasAssets { UsesAssets: true } owner) continue;
            foreach (var (name, values) in owner.SaveVariables())
            {
                int slash = name.LastIndexOf('/');
                string at = slash < 0 ? g.Path : g.Path.Length == 0 ? name[..slash] : $"{g.Path}/{name[..slash]}";
                GroupAt(file, at.Length == 0 ? "vars" : $"{at}/vars")[name[(slash + 1)..]] =
                    new H5Dataset(values, fileDims: [(ulong)values.Length]);
            }
        }
        if (optimizer is not null)
        {
            // Keras 3's optimizer variables, in the order its optimizers create them: 0 the iteration count, then the learning
            // rate when it is a constant (a schedule is no variable), the state in Keras's order (Adam: m0, v0, m1, v1, ...),
            // and scalars created after it (Nadam's u_product).
            var optimizerVars = new H5Group();
            optimizerVars.Attributes["name"] = new H5Attribute(optimizer.Name);
            optimizerVars.Attributes[StateOrderAttribute] = new H5Attribute("keras");
            if (optimizer.IsBuilt)
            {
                int next = 0;
                string Next() => (next++).ToString(CultureInfo.InvariantCulture);
                optimizerVars[Next()] = new H5Dataset(new long[] { optimizer.Iterations }, fileDims: []); // scalars, as Keras writes them
                if (optimizer.LearningRate is Optimizers.ConstantLearningRate)
                    optimizerVars[Next()] = new H5Dataset(new float[] { (float)optimizer.CurrentLearningRate }, fileDims: []);
                foreach (var slot in optimizer.KerasOrderedSlots)
                {
                    using var cpu = slot.detach().cpu().contiguous();
                    optimizerVars[Next()] = new H5Dataset(cpu.data<float>().ToArray(), fileDims: slot.shape.Select(d => (ulong)d).ToArray());
                }
                foreach (float scalar in optimizer.TrailingKerasScalars) optimizerVars[Next()] = new H5Dataset(new[] { scalar }, fileDims: []);
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
}

/// <summary>
/// The optimizer variables read from a weights file: the iteration count, the variables after it, and what the file says
/// about their order.
/// </summary>
internal sealed record SavedOptimizerState(long Iterations, OptimizerVariables State);

/// <summary>The optimizer variables after the iteration count, in file order, with what the file says about their order.</summary>
internal sealed class OptimizerVariables(IReadOnlyList<StoredArray> variables, Optimizers.OptimizerStateSource source) : IReadOnlyList<StoredArray>
{
    /// <summary>What the file says about the order of the state.</summary>
    public Optimizers.OptimizerStateSource Source { get; } = source;

    /// <inheritdoc />
    public StoredArray this[int index] => variables[index];

    /// <inheritdoc />
    public int Count => variables.Count;

    /// <inheritdoc />
    public IEnumerator<StoredArray> GetEnumerator() => variables.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
