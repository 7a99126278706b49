using System.CommandLine;
using System.Globalization;
using static OnnxKeras.Cli.Commands.CommandGuard;
using static OnnxKeras.Cli.Commands.CommandOptions;

namespace OnnxKeras.Cli.Commands;

/// <summary><c>onnxkeras export-triton</c>: writes a Triton model repository entry for a model.</summary>
internal static class ExportTritonCommand
{
    /// <summary>Printed after <c>export-triton</c>'s help.</summary>
    internal const string Notes = """
        Writes <repo>/<name>/1/model.onnx and <repo>/<name>/config.pbtxt (platform onnxruntime_onnx). max_batch_size
        is --max-batch-size when every input and output has a symbolic first dimension, else 0 (no batching).
        """;

    /// <summary>The <c>export-triton</c> command; its action writes to <paramref name="stdout"/> and <paramref name="stderr"/>.</summary>
    internal static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var command = new Command("export-triton", "Write a Triton model repository entry (config.pbtxt and 1/model.onnx) for a model");
        var model = ModelArgument();
        var repo = new Option<string>("--repo") { Description = "The model repository folder", HelpName = "dir", Required = true };
        var name = new Option<string?>("--name") { Description = "The model's folder and name (default: the file name without extension)", HelpName = "name" };
        var maxBatch = WithDefault(PositiveInt("--max-batch-size", "n", "Triton's max_batch_size (used when all first dimensions are symbolic)"), 64);
        // Triton accepts 0 (batch what is queued, no wait).
        var delayUs = WithDefault(Checked("--max-queue-delay-us", "n", "dynamic_batching's max_queue_delay_microseconds (0: batch only what is queued)",
            "an integer of 0 or more", (string t, out int v) => int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out v)), 100);
        var gpus = PositiveInt("--gpu-instances", "n", "KIND_GPU instances (default: one KIND_CPU instance)");
        command.Arguments.Add(model);
        foreach (var o in new Option[] { repo, name, maxBatch, delayUs, gpus }) command.Options.Add(o);
        command.SetAction(r => Guard(stderr, command, () =>
        {
            string repoPath = r.GetValue(repo)!;
            var folder = Serving.TritonExporter.Export(r.GetValue(model)!, repoPath, new Serving.TritonExportOptions
            {
                Name = r.GetValue(name),
                MaxBatchSize = r.GetValue(maxBatch),
                MaxQueueDelayMicroseconds = r.GetValue(delayUs),
                GpuInstances = Given(r, gpus),
            });
            stdout.WriteLine($"Wrote {Path.Combine(folder, "config.pbtxt")} and {Path.Combine(folder, "1", "model.onnx")}.");
            stdout.WriteLine($"Serve with: tritonserver --model-repository={Path.GetFullPath(repoPath)}");
            return CliApp.Ok;
        }));
        return command;
    }
}
