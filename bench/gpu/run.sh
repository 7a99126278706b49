#!/usr/bin/env bash
# Runs on the GPU machine, from the unpacked archive of prepare.sh (folders app/ and data/ side by side):
# the .NET training benchmark on CUDA and on CPU (Fit vs hand-written TorchSharp loop, loss agreement first), then
# the same cases in PyTorch-Python with that machine's torch, and prints both tables. Results land in $OUT if set.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
site=/opt/torch/.venv/lib/python3.12/site-packages
export LD_LIBRARY_PATH="$site/torch/lib:$site/nvidia/cu13/lib:$site/nvidia/cudnn/lib:/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}"
py=/opt/torch/.venv/bin/python3
results="${OUT:-$here/results}"
mkdir -p "$results"
threads="$(nproc)"
for device in cuda cpu; do
  "$here/OnnxKeras.Bench" fit --device "$device" --threads "$threads" --repeats 7 --out "$results/$device" | tee "$results/dotnet-$device.md"
  "$py" "$here/train_reference.py" "$results/$device" --device "$device" --threads "$threads" | tee "$results/pytorch-$device.md"
done
