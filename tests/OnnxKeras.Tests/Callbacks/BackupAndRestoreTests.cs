using OnnxKeras.Callbacks;
using OnnxKeras.Layers;
using OnnxKeras.Models;
using Xunit;

namespace OnnxKeras.Tests.Callbacks;

public class BackupAndRestoreTests
{
    private sealed class Crash(int atEpoch) : Callback
    {
        public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
        {
            if (epoch == atEpoch) throw new InvalidOperationException("simulated crash");
        }
    }

    private static Sequential NewModel()
    {
        Keras.SetRandomSeed(91);
        var model = new Sequential(new InputLayer([5]), new Dense(4, activation: "relu"), new Dense(2, activation: "softmax"));
        model.Compile(optimizer: "adam", loss: "categorical_crossentropy");
        return model;
    }

    [Fact]
    public void AnInterruptedFitResumesAndEndsWhereAnUninterruptedOneEnds()
    {
        var (x, y) = TestData.RandomClassification(64, 5, 2, 8);
        var dir = Path.Combine(Path.GetTempPath(), "onnxkeras-backup-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var straight = NewModel();
            straight.Fit(x, y, epochs: 4, batchSize: 16, shuffle: false, verbose: 0);

            using var model = NewModel();
            var backup = new BackupAndRestore(dir);
            // The backup is written at the end of epochs 0 and 1; the crash comes right after epoch 1's backup.
            Assert.Throws<InvalidOperationException>(() => model.Fit(x, y, epochs: 4, batchSize: 16, shuffle: false, verbose: 0, callbacks: [backup, new Crash(1)]));
            Assert.True(File.Exists(Path.Combine(dir, "latest.weights.h5")));

            using var restarted = NewModel(); // a new process would start from fresh weights
            var history = restarted.Fit(x, y, epochs: 4, batchSize: 16, shuffle: false, verbose: 0, callbacks: [backup]);
            Assert.Equal(2, backup.ResumedAtEpoch);
            Assert.Equal(new[] { 2, 3 }, history.Epoch);
            var expected = straight.GetWeights();
            var actual = restarted.GetWeights();
            for (int i = 0; i < expected.Count; i++) Assert.Equal(expected[i].Data, actual[i].Data);
            Assert.False(File.Exists(Path.Combine(dir, "latest.weights.h5")), "a completed Fit deletes the backup");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
