#!/usr/bin/env bash
# Prepares the training benchmark for a GPU machine that has PyTorch (libtorch 2.11, CUDA 13) but no .NET:
# a self-contained linux-x64 publish of bench/OnnxKeras.Bench WITHOUT our CPU libtorch (that machine's libtorch is
# loaded through LD_LIBRARY_PATH), packed with the PyTorch reference script into one archive small enough for one
# device call (about 52 MB as tar.xz, under the 64 MiB a device call carries; measured here).
# Usage (repository root): bash bench/gpu/prepare.sh [OUT_DIR]   -> OUT_DIR/train-bench.tar.xz (default /tmp/gpu-bench)
set -euo pipefail
out="${1:-/tmp/gpu-bench}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
rm -rf "$out/app" && mkdir -p "$out/app"
dotnet publish "$root/bench/OnnxKeras.Bench" -c Release -r linux-x64 --self-contained -p:InvariantGlobalization=true -o "$out/app" >/dev/null
# Our libtorch is the CPU build; keep libLibTorchSharp.so (TorchSharp's own glue), drop libtorch's libraries.
rm -f "$out"/app/libtorch*.so "$out"/app/libc10*.so "$out"/app/libgomp* "$out"/app/libonnxruntime_providers_cuda.so
cp "$root/bench/pytorch/train_reference.py" "$root/bench/gpu/run.sh" "$out/app/"
cp -r "$root/data" "$out/data"
tar -C "$out" -cJf "$out/train-bench.tar.xz" app data
ls -l "$out/train-bench.tar.xz"
