using System.Globalization;
using System.Text.Json;
using OnnxKeras.Saving;

namespace OnnxKeras.Callbacks;

/// <summary>
/// Resumes a Fit that was interrupted (Keras 3's <c>BackupAndRestore</c>): at the end of each epoch the weights, the
/// optimizer's state and the epoch number are written to <see cref="BackupDir"/> (atomically); when Fit starts and a backup
/// is there, they are restored and training continues with the next epoch. A Fit that completes deletes the backup
/// (unless <c>deleteCheckpoint</c> is false). Rerun the same Fit call after a crash to continue it.
/// </summary>
/// <example><code>model.Fit(x, y, epochs: 20, callbacks: [new BackupAndRestore("/tmp/backup")]);</code></example>
public sealed class BackupAndRestore : Callback
{
    private const string WeightsFile = "latest.weights.h5";
    private const string StateFile = "training_state.json";

    /// <summary>Creates the callback; <paramref name="saveFreq"/> is "epoch" (the only frequency supported here).</summary>
    public BackupAndRestore(string backupDir, string saveFreq = "epoch", bool deleteCheckpoint = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDir);
        if (saveFreq != "epoch") throw new ArgumentException($"BackupAndRestore: saveFreq '{saveFreq}' is not supported; use \"epoch\".");
        BackupDir = backupDir;
        DeleteCheckpoint = deleteCheckpoint;
    }

    /// <summary>Where the backup lives.</summary>
    public string BackupDir { get; }

    /// <summary>Whether a completed Fit deletes the backup.</summary>
    public bool DeleteCheckpoint { get; }

    /// <summary>The epoch (0-based) the last Fit resumed at, or null when it started fresh.</summary>
    public int? ResumedAtEpoch { get; private set; }

    /// <inheritdoc />
    public override void OnTrainBegin(IReadOnlyDictionary<string, double> logs)
    {
        ResumedAtEpoch = null;
        string weights = Path.Combine(BackupDir, WeightsFile), state = Path.Combine(BackupDir, StateFile);
        if (!File.Exists(weights) || !File.Exists(state)) return;
        int epoch;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(state));
            epoch = doc.RootElement.GetProperty("epoch").GetInt32();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"BackupAndRestore: '{state}' is not a valid training state ({e.Message}); delete the folder " +
                $"'{BackupDir}' to start over.", e);
        }
        WeightFiles.LoadWithOptimizer(Model!, weights);
        ResumedAtEpoch = epoch + 1;
        Model!.ResumeEpoch = epoch + 1;
    }

    /// <inheritdoc />
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Directory.CreateDirectory(BackupDir);
        // Weights first, then the state file that points at them: a crash between the two resumes one epoch early at worst.
        WeightFiles.SaveWithOptimizer(Model!, Path.Combine(BackupDir, WeightsFile));
        AtomicFile.Write(Path.Combine(BackupDir, StateFile), s =>
        {
            using var w = new StreamWriter(s, leaveOpen: true);
            w.Write($"{{\"epoch\": {epoch.ToString(CultureInfo.InvariantCulture)}}}");
        });
    }

    /// <inheritdoc />
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        // Reached only when Fit ends without an exception (an interrupted Fit never calls OnTrainEnd), as in Keras.
        if (DeleteCheckpoint && Directory.Exists(BackupDir))
        {
            File.Delete(Path.Combine(BackupDir, WeightsFile));
            File.Delete(Path.Combine(BackupDir, StateFile));
        }
    }
}
