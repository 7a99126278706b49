using OnnxKeras.Saving;

namespace OnnxKeras.Models;

// Saving and loading (Keras's save_weights/load_weights, to_json/model_from_json, save/load_model).
public partial class Model
{
    /// <summary>
    /// Writes the weights to <paramref name="path"/>, atomically, in the format its extension names (ignoring case):
    /// <list type="bullet">
    /// <item><c>.weights.h5</c>: Keras 3's layout (groups at Keras's object paths, <c>layers/dense/vars/0..</c>,
    /// <c>layers/dense_1/...</c>, not by layer name), as Keras 3's <c>save_weights</c> writes it.</item>
    /// <item>any other <c>.h5</c> or <c>.hdf5</c>: Keras 2's layout, as TensorFlow 2's <c>model.save_weights("model.h5")</c>
    /// writes it (root attributes <c>layer_names</c>, <c>backend</c>, <c>keras_version</c>; per layer a group with a
    /// <c>weight_names</c> attribute and datasets at <c>dense/dense/kernel:0</c>, ...). Layer names must be unique.</item>
    /// <item><c>.keras</c>: refused, it is a whole-model format (use <see cref="Save"/>).</item>
    /// <item>anything else, no extension included (<c>"./weights/model"</c>): safetensors (tensor names are the
    /// variables' paths).</item>
    /// </list>
    /// <see cref="LoadWeights"/> reads all three.
    /// </summary>
    /// <example><code>
    /// model.SaveWeights("model.weights.h5");   // Keras 3 layout, loadable by Keras's load_weights
    /// model.SaveWeights("model.h5");           // Keras 2 layout, loadable by tf.keras's load_weights
    /// model.SaveWeights("./weights/model");    // safetensors
    /// </code></example>
    /// <exception cref="ArgumentException">The path is empty or ends in <c>.keras</c>.</exception>
    /// <exception cref="InvalidOperationException">The model is not built, or (Keras 2 layout) two layers share a name.</exception>
    public void SaveWeights(string path) => WeightFiles.Save(this, path);

    /// <summary>
    /// Loads weights from safetensors, Keras 3 <c>.weights.h5</c>, a legacy Keras 2 <c>.h5</c>/<c>.hdf5</c> (a weights file, or a
    /// whole-model file's <c>model_weights</c>) or a <c>.keras</c> file.
    /// Everything is read and checked before any weight changes. Layers are matched by position (layers with weights,
    /// in model order), or by name when <paramref name="byName"/> is set or the names all agree;
    /// <paramref name="skipMismatch"/> skips layers whose weight counts or shapes differ instead of failing.
    /// </summary>
    /// <returns>The warnings about skipped layers (also written to standard error); empty when all matched.</returns>
    /// <exception cref="InvalidDataException">A mismatch (naming the layer and both shapes) or an unreadable file (naming it).</exception>
    /// <example><code>
    /// model.LoadWeights("model.weights.h5");
    /// var skipped = model.LoadWeights("keras2_model.h5", byName: true, skipMismatch: true);
    /// </code></example>
    public IReadOnlyList<string> LoadWeights(string path, bool byName = false, bool skipMismatch = false) => WeightFiles.Load(this, path, byName, skipMismatch);

    /// <summary>The architecture as Keras 3's JSON config (<c>model.to_json()</c>); Sequential and functional models only.</summary>
    /// <example><code>string json = model.ToJson(indented: true);</code></example>
    public string ToJson(bool indented = false) => ConfigJson.Write(ModelConfig.Serialize(this), indented);

    /// <summary>
    /// Rebuilds a model with fresh weights from a Keras 3 (or Keras 2) JSON config (<c>keras.models.model_from_json</c>). A
    /// config that records Keras 2 as its writer (top-level <c>keras_version</c> 2.x, or <c>backend</c>) keeps Keras 2's
    /// <c>hard_sigmoid</c>, <c>clip(0.2x + 0.5, 0, 1)</c>, as <c>LoadModel</c> does for legacy <c>.h5</c> files.
    /// </summary>
    /// <param name="json">The config text.</param>
    /// <param name="customObjects">Classes and activations the config names that are neither built in nor registered
    /// (Keras's <c>custom_objects</c>; see <see cref="KerasObjects"/> for the order names resolve in).</param>
    /// <example><code>
    /// var fresh = Model.FromJson(File.ReadAllText("model.json"));   // new weights; load them with LoadWeights
    /// var mine = Model.FromJson(json, new CustomObjects { ["my_relu"] = myRelu, ["MyLayer"] = typeof(MyLayer) });
    /// </code></example>
    /// <exception cref="ArgumentException">The text is not JSON, or the config's structure is not a model's (unknown class,
    /// activation or other name that no custom object, registration or built-in resolves; missing keys).</exception>
    /// <exception cref="InvalidDataException">The config nests deeper than <see cref="ModelConfig.MaxDepth"/> levels, a layer
    /// is given a key it does not take ("Unrecognized keyword arguments passed to Dense (layer 'd'): {'bogus_key': 1}"), a
    /// value has the wrong type or range for its layer (<c>"units": "16"</c>, <c>1.5</c>, <c>-1</c>), or a weight would
    /// exceed <see cref="ModelConfig.MaxWeightBytes"/>.</exception>
    public static Model FromJson(string json, CustomObjects? customObjects = null) => ModelConfig.FromJson(json, customObjects);

    /// <summary>The architecture as YAML (Keras 2's <c>to_yaml</c>): the same config as <see cref="ToJson"/>, as YAML text.</summary>
    /// <example><code>File.WriteAllText("model.yaml", model.ToYaml());</code></example>
    public string ToYaml() => ConfigYaml.FromJson(ToJson());

    /// <summary>Rebuilds a model from <see cref="ToYaml"/>'s YAML (plain mappings, sequences and scalars only; YAML
    /// tags are rejected); Keras 2's YAML as <see cref="FromJson"/> reads its JSON.</summary>
    /// <example><code>var fresh = Model.FromYaml(File.ReadAllText("model.yaml"));</code></example>
    /// <exception cref="InvalidDataException">The text is not one YAML document of plain mappings, sequences and scalars, nests
    /// deeper than <see cref="ModelConfig.MaxDepth"/> levels, or holds a config <see cref="FromJson"/> refuses with this type.</exception>
    /// <exception cref="ArgumentException">The config's structure is not a model's (as for <see cref="FromJson"/>).</exception>
    /// <param name="yaml">The config text.</param>
    /// <param name="customObjects">As for <see cref="FromJson"/>.</param>
    public static Model FromYaml(string yaml, CustomObjects? customObjects = null) => FromJson(ConfigYaml.ToJson(yaml), customObjects);

    /// <summary>
    /// Saves the whole model (config, weights and compile settings), atomically: Keras 3's <c>.keras</c> zip, or for a
    /// path ending in <c>.h5</c>/<c>.hdf5</c> the legacy Keras 2 HDF5 layout (root attributes <c>model_config</c>,
    /// <c>training_config</c>, <c>keras_version</c>, <c>backend</c>; weights under <c>model_weights/&lt;layer&gt;/&lt;layer&gt;/kernel:0</c>),
    /// without optimizer state. A subclassed model needs a registered class (<see cref="Layers.RegisterSerializableAttribute"/>
    /// or <see cref="Layers.LayerRegistry.Register{T}(string?, string?)"/>) and a <c>GetConfig</c> that holds its constructor's arguments.
    /// </summary>
    /// <example><code>model.Save("model.keras");   // or "model.h5" for Keras 2's layout</code></example>
    /// <exception cref="NotSupportedException">A subclassed model whose class is not registered or cannot be rebuilt from its config.</exception>
    public void Save(string path) => KerasArchive.Save(this, path);

    /// <summary>
    /// Loads a whole model (<c>keras.models.load_model</c>): a Keras 3 <c>.keras</c> file or a legacy Keras 2 <c>.h5</c>/<c>.hdf5</c>
    /// with <c>model_config</c>. The config is rebuilt and all weights are checked before the model is returned.
    /// Names in the config (layers, activations, initializers, losses, metrics, optimizers, ...) resolve through
    /// <paramref name="customObjects"/>, then registrations, then built-ins (see <see cref="KerasObjects"/>).
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="customObjects">Classes and activations the file names that are neither built in nor registered (Keras's <c>custom_objects</c>).</param>
    /// <example><code>
    /// using var model = Model.LoadModel("model.keras");   // or a legacy Keras 2 "model.h5"
    /// NDArray p = model.Predict(testX);
    /// </code></example>
    public static Model LoadModel(string path, CustomObjects? customObjects = null)
    {
        using var scope = KerasObjects.Scope(customObjects);
        return KerasArchive.Load(path);
    }
}
