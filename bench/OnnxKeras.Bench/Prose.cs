namespace OnnxKeras.Bench;

/// <summary>
/// The fixed text of bench/RESULTS.md: what each section measures and how. It describes the method only; every measured
/// number comes from the tables the run writes beneath it.
/// </summary>
internal static class Prose
{
    public const string Introduction =
        "Every ratio compares OnnxKeras against a baseline measured in the same process, alternating with it, so that drift on " +
        "the machine hits both sides; ratios below 1 mean OnnxKeras took less time. Spreads are the minimum and maximum over " +
        "the repeated samples whose median the table shows. On a shared machine absolute times vary by 10-30% between runs and " +
        "single ratios by about +-15%: compare the load averages above, and rerun before reading much into one figure.";

    /// <summary>Section id (as passed to <see cref="Report.Begin"/>), title, fixed paragraph; in report order.</summary>
    public static readonly (string Id, string Title, string Text)[] Sections =
    [
        ("fit", "Training: Fit vs a hand-written TorchSharp loop",
            "`-- fit`. Each case trains the same architecture from the same initial weights on the same data and batch order " +
            "(no shuffling), with Adam (lr 0.001, eps 1e-7): Fit uses OnnxKeras's Keras-rule Adam, the loop `torch.optim.Adam` " +
            "given Keras's epsilon placement. Before anything is timed, the first 20 per-step losses of both must agree within " +
            "1e-4, so speed never comes from computing something else; a case whose losses differ is not timed. Each timed " +
            "sample is about 40 ms: whole epochs when an epoch is shorter, else a run of consecutive steps (a Fit call on those " +
            "batches' rows, which pays Fit's per-call setup once per sample). Many samples alternate between Fit and the loop; " +
            "the table gives the medians per step, the ratio of medians (with the issue's goal where it sets one), the ratio of " +
            "minima (the least disturbed samples: robust to bursts of host activity) and the ratio of median process CPU times " +
            "per step (all threads, from clock_gettime; time the host gives to other work stays out of it, spinning libtorch " +
            "threads stay in). Each case runs in a fresh process with glibc's malloc thresholds fixed (GLIBC_TUNABLES " +
            "mmap_threshold 32 MiB, trim_threshold 1 GiB): with the default dynamic ones, a case's speed depended on the order " +
            "in which earlier buffers were freed (the CNN 17 or 28 ms/step; bench/NOTES.md). Bound: the case's FLOPs per step (3 x the forward matrix products and " +
            "convolutions, 2 x for a first layer on data, which has no input gradient) at the measured peak (the faster of a " +
            "1024 x 1024 matrix product and a 3x3 convolution: MKL and oneDNN), as a share of the loop's fastest step; below 0.10 the case is " +
            "dispatch-bound (per-op overhead; a comparison with a PyTorch on any BLAS is fair), otherwise BLAS-bound. Peak memory is " +
            "the RSS high-water mark of a fresh process training 3 epochs one way or the other, so neither side inherits the " +
            "other's allocations, with the same pinned malloc thresholds and after a collection of the data set-up's garbage; " +
            "three alternating pairs of processes, the medians and " +
            "the range of the pairs' ratios (a single pair moved between 0.97 and 1.30)."),
        ("ablation", "Training: the optimizations one at a time",
            "`-- ablation`. Fit / loop per case with the optimizer's variables kept separate (the update of earlier versions), " +
            "packed into flat buffers, and packed with libtorch's fused Adam kernel."),
        ("pytorch", "Training: PyTorch reference",
            "The fit mode writes each case (initial weights in PyTorch's layout, data, Fit's first losses and times) to " +
            "`bench/out/train/<case>/`; `bench/pytorch/train_reference.py` trains the same network in plain PyTorch on the same " +
            "batches, checks its losses against Fit's and times it (see bench/pytorch/README.md). Its table appears here when " +
            "the run was given `--pytorch PYTHON` (a Python with torch), with ratios of medians, of minima and of CPU times and " +
            "the fit table's bound per case. Debian's python3-torch uses a generic BLAS, so its CPU times are a fair PyTorch " +
            "baseline only for dispatch-bound cases; use the official build (MKL/oneDNN, as libtorch) for BLAS-bound ones."),
        ("export", "ONNX export",
            "`-- export`: the MNIST MLP 784-512-512-10 exported to bytes at opset 17, median of repeated exports after a warm-up " +
            "(goal < 100 ms). The baseline, copying the weights out of the tensors alone, is the floor any exporter pays. The " +
            "file's size is compared with the raw float32 weight bytes (goal: less than 4 KB over); the overhead includes the " +
            "graph and the metadata, which holds the model's Keras config JSON."),
        ("inference", "Inference (ONNX Runtime, CPU)",
            "`-- inference`: the MNIST MLP 784-512-512-10 exported at opset 17. Blocks of calls alternate between the two " +
            "sides after a warm-up; the table gives the medians per call. `OnnxModel.Predict` (batch 1: 3 KiB in, 40 bytes out) " +
            "copies the input into pinned buffers it pools per input shape, runs them through a pooled I/O binding (its shape " +
            "validated on the first call) and copies the output into a new managed array; the baseline is a bare " +
            "`InferenceSession.Run` with pre-allocated OrtValues. The reference row (bare `Run` creating its OrtValues per " +
            "call, no OnnxKeras code) shows what the per-call allocation alone costs; `ModelBinding.Run` binds its buffers once, like the " +
            "baseline. The first three rows use one ONNX Runtime thread; the TorchSharp rows use libtorch's thread count for both."),
        ("gpu", "ONNX Runtime CPU vs CUDA",
            "`-- gpu` (a machine with CUDA 13 and cuDNN 9 on the library path): CPU and CUDA outputs and latency for the " +
            "MNIST CNN and an 8x4096 MLP at batch 1, 64 and 512."),
        ("pipeline", "Prefetch overlapping a slow input with training",
            "`-- pipeline [--sleep-ms N]` (not part of `all`): an epoch of Fit on batches that pass through a Map sleeping N ms per " +
            "batch (a stand-in for decoding), without and with `Prefetch(2)`, against the bare batches. Without overlap an epoch " +
            "takes steps x (sleep + step), with full overlap steps x max(sleep, step)."),
        ("memory", "Memory over many training steps",
            "`-- memory`: the quick-start MLP, batch 32, Adam, accuracy metric, an infinite shuffled dataset with stepsPerEpoch " +
            "500. Resident memory (after a full GC) after 1,000 warm-up steps and after the measured steps, and the largest value " +
            "seen at the epoch ends between; every step runs in a dispose scope, so RSS must stay flat."),
        ("scaling", "Scaling",
            "`-- scaling` (`--scaling-repeats N`): how the costs grow with size. Fit against the hand-written loop " +
            "(the fit mode's pair) as the batch grows on the MNIST MLP, each timed sample 4,096 rows, and as the width w grows " +
            "in 784-w-w-10 at batch 128 (fewer steps per sample for wider models); ONNX export time and file size against the " +
            "parameter count, up to a model of more than 2 GiB of weights that the exporter writes as ONNX external data " +
            "(written to a scratch folder under the system temp folder and deleted afterwards; every file is loaded back by " +
            "ONNX Runtime and run on one row; the baseline copies the weights out of libtorch alone); and `OnnxModel.Predict` " +
            "latency against the TorchSharp eager forward as the batch grows, with libtorch's thread count for both. The plots " +
            "are drawn from the same measurements."),
        ("micro", "Micro-benchmarks (BenchmarkDotNet)",
            "`-- micro`: BenchmarkDotNet " + MicroBenchmarks.BdnVersion + " in-process (no separate build), a short job, one " +
            "class per comparison with its baseline marked; Ratio is the mean against that baseline (BenchmarkDotNet's own " +
            "statistics: Mean, Error as half the 99.9% confidence interval, StdDev, Median). The optimizer update runs on the " +
            "MNIST MLP's 669,706 parameters; both sides receive the same gradients by one copy per variable (torch into each " +
            "parameter's .grad, OnnxKeras's Apply into its flat gradient buffer, the path of a custom loop: Fit binds the " +
            "gradients to that buffer and skips the copy), and the 7-op row is the packed update without libtorch's fused " +
            "kernel; inference is at batch 1 with one ONNX Runtime thread; export and saving use the same model, saving " +
            "to files in the system temp folder."),
        ("server", "Server (Open Inference Protocol over HTTP and gRPC, loopback)",
            "`dotnet run -c Release --project bench/OnnxKeras.ServerBench`, a separate program (no TorchSharp): " +
            "`models/mnist_mlp.onnx` served on 127.0.0.1 by `onnxkeras serve` in-process, one-row requests (784 numbers " +
            "each) from 1, 8 and 64 concurrent clients on the same cores: REST JSON with batching off and with dynamic " +
            "batching (at most 64 rows, 2 ms delay), REST with the binary tensor data extension (binary in and out) and gRPC " +
            "(raw contents in and out), settings alternating between rounds. A soak then sends 100,000 mixed requests (valid " +
            "JSON, binary and gRPC, and bad ones: oversized data, wrong shape, malformed JSON, FP32 overflow) from 8 clients and " +
            "reports the process's resident memory after a warm-up and at the end. It writes its table to " +
            "`bench/out/server.md`, which this section copies; the file's own header line tells when and with what settings " +
            "it was measured."),
    ];
}
