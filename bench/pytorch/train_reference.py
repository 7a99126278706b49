#!/usr/bin/env python3
"""PyTorch reference for OnnxKeras's training-speed benchmark.

The .NET benchmark writes one folder per case, ``ROOT/<case_id>/`` holding
``case.json`` (architecture, hyper-parameters, the per-step losses OnnxKeras's
Fit produced, and its own timings) and ``tensors.safetensors`` (the data and the
initial parameters in PyTorch layout).  For every case this script

1. builds the same model in plain PyTorch and loads the very same initial weights,
2. runs ``check_steps`` training steps on the same batches and compares each
   step's loss with the losses Fit recorded (agreement: every |diff| <= 1e-4),
3. times a hand-written PyTorch loop (warm-up, then ``repeats`` samples of
   ``timing_steps`` steps; the median and the minimum ms/step, and the median
   process CPU ms/step, are reported),
4. writes ``pytorch.json`` into the case folder and prints a markdown table.

The training step is the idiomatic "hand-written PyTorch loop": forward,
Keras's categorical cross-entropy on probabilities, backward, torch.optim.Adam
(by default with Keras's epsilon placement, see Trainer). Data and parameters
live on the chosen device before timing starts.

Usage:
    python3 bench/pytorch/train_reference.py ROOT [--device cpu|cuda] [--threads N]
                                                  [--cases id1,id2] [--adam-eps keras|torch]

Needs only torch (works with torch 1.13 and 2.x); no numpy, no safetensors package.
"""

import argparse
import json
import math
import os
import statistics
import struct
import sys
import time
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

TOLERANCE = 1e-4   # max allowed |loss diff| per checked step
WARMUP_STEPS = 20  # untimed steps before the timed samples


# --------------------------------------------------------------------------
# safetensors: 8-byte little-endian u64 header length, JSON header, raw data.
# --------------------------------------------------------------------------

_DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64,
           "I32": torch.int32, "U8": torch.uint8}


def load_safetensors(path):
    """Returns {name: CPU tensor}. Parsed by hand so that only torch is needed."""
    assert sys.byteorder == "little", "raw safetensors data is little-endian"
    with open(path, "rb") as f:
        blob = bytearray(f.read())  # writable buffer: torch.frombuffer won't warn
    (header_len,) = struct.unpack_from("<Q", blob, 0)
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data_start = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = _DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        count = math.prod(shape)
        elem = torch.tensor([], dtype=dtype).element_size()
        if end - begin != count * elem:
            raise ValueError(f"{path}: {name}: {end - begin} bytes for shape {shape}")
        if count == 0:
            tensors[name] = torch.empty(shape, dtype=dtype)
            continue
        flat = torch.frombuffer(blob, dtype=dtype, count=count, offset=data_start + begin)
        tensors[name] = flat.reshape(shape).clone()  # own the memory, not the blob
    return tensors


# --------------------------------------------------------------------------
# Models. Each returns logits; the softmax is part of the loss below, which is
# exactly Keras's softmax output followed by categorical cross-entropy.
# Parameter names match the tensor names the .NET side writes.
# --------------------------------------------------------------------------

class MLP(nn.Module):
    """Dense layers of the given widths; relu on hidden layers, softmax last."""

    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.relu(layer(x))
        return self.layers[-1](x)


class CNN(nn.Module):
    """conv3x3(1->32) relu, maxpool2, conv3x3(32->64) relu, maxpool2, flatten (NCHW), dense 1600->10."""

    def __init__(self, c1=32, c2=64, flat=1600, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3)
        self.conv2 = nn.Conv2d(c1, c2, 3)
        self.fc = nn.Linear(flat, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


class LSTMClassifier(nn.Module):
    """Embedding -> LSTM (batch_first, last hidden state only) -> dense, softmax."""

    def __init__(self, vocab=10000, embed=64, hidden=128, classes=10):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, tokens):
        _, (h, _) = self.lstm(self.embedding(tokens))
        return self.fc(h[-1])


def build_model(case, params):
    """Builds the case's model with sizes read from the parameter shapes."""
    arch = case["arch"]
    if arch == "mlp":
        return MLP(case["sizes"])
    if arch == "cnn":
        return CNN(params["conv1.weight"].shape[0], params["conv2.weight"].shape[0],
                   params["fc.weight"].shape[1], params["fc.weight"].shape[0])
    if arch == "lstm":
        vocab, embed = params["embedding.weight"].shape
        return LSTMClassifier(vocab, embed, params["lstm.weight_hh_l0"].shape[1],
                              params["fc.weight"].shape[0])
    raise ValueError(f"unknown arch {arch!r}")


def keras_categorical_crossentropy(logits, y):
    """Keras's categorical cross-entropy applied to softmax probabilities."""
    p = torch.softmax(logits, dim=-1)
    p = p / p.sum(-1, keepdim=True)
    p = p.clamp(1e-7, 1 - 1e-7)
    return -(y * p.log()).sum(-1).mean()


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def batch_bounds(n, batch):
    """Row ranges of one epoch: in order, the last batch possibly smaller, no shuffling."""
    return [(start, min(start + batch, n)) for start in range(0, n, batch)]


class Trainer:
    """The hand-written loop: step k trains on batch k mod ceil(n/batch).

    keras_eps=True makes torch.optim.Adam follow Keras's epsilon placement exactly.
    Keras updates w -= lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps), PyTorch
    w -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + eps'); the two are identical when
    eps' = eps / sqrt(1-b2^t), so we set the param group's eps before each step (a
    Python float write, free next to a training step; same optimizer kernels).
    The difference is not negligible: Adam's first steps are nearly sign(g) * lr, so
    parameters with gradients near eps move differently and the losses drift apart
    by 1e-3 to 1e-2 within 20 steps (measured on the synthetic cases).
    """

    def __init__(self, case, tensors, device, keras_eps=True):
        params = {k: v for k, v in tensors.items() if k not in ("x", "y")}
        self.model = build_model(case, params)
        # strict=True: every parameter must be given, with exactly the right shape.
        self.model.load_state_dict(params, strict=True)
        self.model.to(device).train()
        # The whole dataset goes to the device once; batches are views into it.
        self.x = tensors["x"].to(device)
        self.y = tensors["y"].to(device)
        self.bounds = batch_bounds(self.x.shape[0], case["batch"])
        self.step_index = 0
        if case["arch"] == "lstm":
            # Keras's LSTM has one bias; PyTorch's has two (bias_ih + bias_hh). bias_hh starts at zero and stays
            # frozen, so the sum is Keras's bias and Adam updates it once per step, as Keras does.
            self.model.lstm.bias_hh_l0.requires_grad_(False)
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(trainable, lr=case["lr"],
                                          betas=(case["beta1"], case["beta2"]), eps=case["eps"])
        self.keras_eps = keras_eps
        self.eps, self.beta2 = case["eps"], case["beta2"]

    def step(self):
        """One training step; returns the loss as a device tensor (no sync)."""
        begin, end = self.bounds[self.step_index % len(self.bounds)]
        self.step_index += 1  # = Adam's t for this step
        if self.keras_eps:
            self.optimizer.param_groups[0]["eps"] = self.eps / math.sqrt(1 - self.beta2 ** self.step_index)
        self.optimizer.zero_grad(set_to_none=True)
        loss = keras_categorical_crossentropy(self.model(self.x[begin:end]), self.y[begin:end])
        loss.backward()
        self.optimizer.step()
        return loss


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_losses(trainer, expected):
    """Runs len(expected) steps from the initial weights; returns (max |diff|, per-step diffs)."""
    diffs = [abs(trainer.step().item() - e) for e in expected]
    return max(diffs), diffs


def time_steps(trainer, device, timing_steps, repeats):
    """Warm-up, then `repeats` samples of `timing_steps` steps; returns (wall, process CPU) ms/step per sample."""
    for _ in range(WARMUP_STEPS):
        trainer.step()
    sync(device)
    samples, cpu = [], []
    for _ in range(repeats):
        sync(device)
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(timing_steps):
            trainer.step()  # no .item(): nothing waits for the device inside a sample
        sync(device)
        samples.append((time.perf_counter() - start) * 1000.0 / timing_steps)
        cpu.append((time.process_time() - start_cpu) * 1000.0 / timing_steps)
    return samples, cpu


# --------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------

def find_cases(root, wanted):
    folders = sorted(d for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "case.json")))
    if wanted:
        missing = [c for c in wanted if c not in folders]
        if missing:
            sys.exit(f"no case folder under {root} for: {', '.join(missing)}")
        folders = [d for d in folders if d in wanted]
    return [os.path.join(root, d) for d in folders]


def run_case(folder, args):
    with open(os.path.join(folder, "case.json")) as f:
        case = json.load(f)
    device = torch.device(args.device or case.get("device", "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda, but torch.cuda.is_available() is False")
    if device.type != case.get("device", device.type):
        print(f"warning: {case['case_id']}: Fit ran on {case['device']}, PyTorch on {device.type}; "
              "the ratio compares different devices", file=sys.stderr)
    threads = args.threads or case.get("threads")
    if device.type == "cpu" and threads:
        torch.set_num_threads(threads)

    tensors = load_safetensors(os.path.join(folder, "tensors.safetensors"))
    torch.manual_seed(0)  # nothing here is random; this only makes that certain
    trainer = Trainer(case, tensors, device, keras_eps=args.adam_eps == "keras")

    # 1. Correctness: same weights and batches must give the losses Fit recorded.
    expected = case["losses"][:case["check_steps"]]
    max_diff, diffs = check_losses(trainer, expected)
    agrees = max_diff <= TOLERANCE
    if agrees:
        print(f"{case['case_id']}: OK   max |loss diff| {max_diff:.2e} over {len(expected)} steps")
    else:
        worst = max(range(len(diffs)), key=diffs.__getitem__)
        print(f"{case['case_id']}: FAIL max |loss diff| {max_diff:.2e} over {len(expected)} steps "
              f"(worst at step {worst}: {diffs[worst]:.2e}; tolerance {TOLERANCE:g}); timing skipped")

    # 2. Speed, only when the model provably trains the same way.
    samples, cpu = time_steps(trainer, device, case["timing_steps"], case["repeats"]) if agrees else ([], [])
    result = {
        "ms_per_step": statistics.median(samples) if samples else None,
        "ms_per_step_min": min(samples) if samples else None,
        "cpu_ms_per_step": statistics.median(cpu) if cpu else None,
        "spread": [min(samples), max(samples)] if samples else None,
        "max_loss_diff": max_diff,
        "agrees": agrees,
        "torch_version": torch.__version__,
        "device": device.type,
        "adam_eps": args.adam_eps,
        "threads": torch.get_num_threads() if device.type == "cpu" else None,
        "check_steps": len(expected),
        "warmup_steps": WARMUP_STEPS,
        "timing_steps": case["timing_steps"],
        "repeats": case["repeats"],
    }
    if device.type == "cuda":
        # libtorch's defaults are left as they are (TorchSharp runs with the same ones):
        # TF32 for cuDNN convolutions on, for matmuls off. Recorded for the reader.
        result["gpu"] = torch.cuda.get_device_name(device)
        with warnings.catch_warnings():  # newer torch warns that these flags are being replaced
            warnings.simplefilter("ignore")
            result["cudnn_allow_tf32"] = torch.backends.cudnn.allow_tf32
            result["matmul_allow_tf32"] = torch.backends.cuda.matmul.allow_tf32
    with open(os.path.join(folder, "pytorch.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    return case, result


def fmt(v, digits=3):
    return "n/a" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def print_table(rows):
    """Medians (wall-clock), the ratio of minima and of median process CPU times, and the bound the .NET side
    measured: dispatch-bound cases compare fairly with a PyTorch on any BLAS, BLAS-bound ones only with the same BLAS."""
    print()
    print("| case | batch | Fit ms/step | TorchSharp loop ms/step | PyTorch ms/step | Fit/PyTorch (medians) "
          "| Fit/PyTorch (minima) | Fit/PyTorch (CPU time) | bound (BLAS share) | loss agreement (max abs diff over N steps) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case, r in rows:
        fit, ours = case.get("fit_ms_per_step"), r["ms_per_step"]
        agreement = f"{r['max_loss_diff']:.1e} over {r['check_steps']} steps"
        agreement += "" if r["agrees"] else " **FAIL**"
        name = case.get("name") or case["case_id"]
        print(f"| {name} | {case['batch']} | {fmt(fit)} | {fmt(case.get('loop_ms_per_step'))} "
              f"| {fmt(ours)} | {fmt(ratio(fit, ours))} | {fmt(ratio(case.get('fit_ms_per_step_min'), r.get('ms_per_step_min')))} "
              f"| {fmt(ratio(case.get('fit_cpu_ms_per_step'), r.get('cpu_ms_per_step')))} | {case.get('bound', 'n/a')} | {agreement} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="folder holding one <case_id>/ folder per case")
    parser.add_argument("--device", choices=["cpu", "cuda"],
                        help="default: the device in each case.json")
    parser.add_argument("--threads", type=int,
                        help="torch.set_num_threads on CPU (default: the threads in each case.json)")
    parser.add_argument("--adam-eps", choices=["keras", "torch"], default="keras",
                        help="keras (default): torch.optim.Adam with Keras's epsilon placement, as Fit; "
                             "torch: PyTorch's own placement (the losses then drift from Fit's)")
    parser.add_argument("--cases", help="comma-separated case ids (default: all)")
    args = parser.parse_args()

    wanted = [c for c in args.cases.split(",") if c] if args.cases else None
    folders = find_cases(args.root, wanted)
    if not folders:
        sys.exit(f"no case folders (with case.json) under {args.root}")
    print(f"torch {torch.__version__}")
    rows = [run_case(folder, args) for folder in folders]
    print_table(rows)
    if not all(r["agrees"] for _, r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
