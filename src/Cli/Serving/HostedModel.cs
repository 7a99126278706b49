using OnnxKeras.Inference;

namespace OnnxKeras.Cli.Serving;

/// <summary>A model to serve under a name and a version (the caller keeps ownership of the model).</summary>
/// <param name="Name">The name in URLs (<c>/v2/models/{name}</c>); no '/'.</param>
/// <param name="Version">The version (<c>/versions/{version}</c>); a URL without one gets the name's highest version.
/// Versions compare as integers when both are, else as text.</param>
/// <param name="Model">The loaded model.</param>
public sealed record ServedModel(string Name, string Version, OnnxModel Model);

/// <summary>A served model's state inside the server: its batcher and its counters.</summary>
internal sealed class HostedModel(string name, string version, OnnxModel model)
{
    public string Name { get; } = name;
    public string Version { get; } = version;
    public OnnxModel Model { get; } = model;
    public DynamicBatcher? Batcher { get; set; }

    public int InFlightCount;
    public long Served;
    public long DirectRuns;

    /// <summary>Requests for this model in flight (its batcher stops waiting once all of them are queued).</summary>
    public int InFlight => Volatile.Read(ref InFlightCount);

    public long RequestsServed => Interlocked.Read(ref Served);

    public long ModelRuns => Batcher?.Runs ?? Interlocked.Read(ref DirectRuns);
}

/// <summary>Orders versions as integers when both are integers (Triton's numeric version folders), else as text.</summary>
internal sealed class VersionComparer : IComparer<string>
{
    public static readonly VersionComparer Instance = new();

    public int Compare(string? x, string? y) =>
        long.TryParse(x, out long a) && long.TryParse(y, out long b) ? a.CompareTo(b) : string.CompareOrdinal(x, y);
}
