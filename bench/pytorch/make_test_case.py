#!/usr/bin/env python3
"""Writes synthetic benchmark cases, to test train_reference.py without the .NET side.

Each case folder has exactly the format the .NET benchmark writes (case.json and
tensors.safetensors, see README.md) with random data and weights.  The expected
losses come from an independent plain implementation: float64, functional
forward passes (the LSTM unrolled by hand, gate order i,f,g,o), the loss written
out step by step, and Adam written by hand with Keras's update rule (as Fit
uses).  So a passing check also shows that float32 vs float64 and
torch.optim.Adam with the per-step Keras epsilon stay well inside the 1e-4
tolerance.

    python3 bench/pytorch/make_test_case.py ROOT [--arch mlp,cnn,lstm] [--data random|mnist] [--perturb-step K]

--perturb-step K adds 1e-3 to the expected loss of step K (the case id gets a
"-perturbed" suffix): train_reference.py must then report FAIL for that case.
"""

import argparse
import gzip
import json
import os
import struct

import torch
import torch.nn.functional as F

CHECK_STEPS = 20
DEFAULTS = {  # arch: (n, batch) -- n is not a multiple of batch, so a partial batch and wrap-around occur
    "mlp": (300, 64),
    "cnn": (150, 32),
    "lstm": (100, 32),
}


# --------------------------------------------------------------------------
# safetensors writer (the inverse of train_reference.load_safetensors)
# --------------------------------------------------------------------------

_NAMES = {torch.float32: "F32", torch.int64: "I64"}


def save_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        raw = bytearray(t.numel() * t.element_size())
        torch.frombuffer(raw, dtype=t.dtype, count=t.numel()).copy_(t.flatten())
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt", "writer": "make_test_case.py"}
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad like the reference implementation does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in chunks:
            f.write(raw)


# --------------------------------------------------------------------------
# Random cases
# --------------------------------------------------------------------------

def glorot(out_features, in_features, fan_in=None, fan_out=None, gen=None):
    fan_in = fan_in or in_features
    fan_out = fan_out or out_features
    limit = (6.0 / (fan_in + fan_out)) ** 0.5
    return (torch.rand(out_features, in_features, generator=gen) * 2 - 1) * limit


def small(*shape, gen=None):
    return (torch.rand(*shape, generator=gen) * 2 - 1) * 0.1  # non-zero biases test bias loading


MNIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "mnist", "mnist10k.bin.gz")


def load_mnist(n):
    """First n samples of the repository's MNIST subset (data/mnist/README.md): x [n,784] in [0,1], labels [n]."""
    with gzip.open(MNIST, "rb") as f:
        raw = bytearray(f.read())
    assert raw[:8] == b"OKMNIST1"
    count, rows, cols = struct.unpack_from("<3i", raw, 8)
    assert n <= count, f"the MNIST subset has only {count} samples"
    pixels = torch.frombuffer(raw, dtype=torch.uint8, count=n * rows * cols, offset=20)
    labels = torch.frombuffer(raw, dtype=torch.uint8, count=n, offset=20 + count * rows * cols)
    return pixels.reshape(n, rows * cols).float() / 255, labels.long()


def make_tensors(arch, n, sizes, gen, mnist=False):
    t = {}
    if arch == "mlp":
        t["x"] = torch.rand(n, sizes[0], generator=gen)
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            t[f"layers.{i}.weight"] = glorot(b, a, gen=gen)
            t[f"layers.{i}.bias"] = small(b, gen=gen)
    elif arch == "cnn":
        t["x"] = torch.rand(n, 1, 28, 28, generator=gen)
        t["conv1.weight"] = glorot(32, 9, fan_in=9, fan_out=32 * 9, gen=gen).reshape(32, 1, 3, 3)
        t["conv1.bias"] = small(32, gen=gen)
        t["conv2.weight"] = glorot(64, 32 * 9, fan_in=32 * 9, fan_out=64 * 9, gen=gen).reshape(64, 32, 3, 3)
        t["conv2.bias"] = small(64, gen=gen)
        t["fc.weight"] = glorot(10, 1600, gen=gen)
        t["fc.bias"] = small(10, gen=gen)
    elif arch == "lstm":
        t["x"] = torch.randint(0, 10000, (n, 100), generator=gen, dtype=torch.int64)
        t["embedding.weight"] = small(10000, 64, gen=gen) * 0.5
        t["lstm.weight_ih_l0"] = glorot(512, 64, gen=gen)
        t["lstm.weight_hh_l0"] = glorot(512, 128, gen=gen)
        t["lstm.bias_ih_l0"] = small(512, gen=gen)
        t["lstm.bias_hh_l0"] = small(512, gen=gen)
        t["fc.weight"] = glorot(10, 128, gen=gen)
        t["fc.bias"] = small(10, gen=gen)
    labels = torch.randint(0, 10, (n,), generator=gen)
    if mnist and arch != "lstm":
        images, labels = load_mnist(n)
        t["x"] = images.reshape(t["x"].shape)
    t["y"] = F.one_hot(labels, 10).float()
    return t


# --------------------------------------------------------------------------
# Independent reference training (float64, Keras-rule Adam by hand)
# --------------------------------------------------------------------------

def forward(arch, p, x):
    """Logits, written with functional ops only."""
    if arch == "mlp":
        count = len([k for k in p if k.endswith(".weight")])
        for i in range(count):
            x = x @ p[f"layers.{i}.weight"].T + p[f"layers.{i}.bias"]
            if i < count - 1:
                x = x.clamp_min(0)
        return x
    if arch == "cnn":
        x = F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]).clamp_min(0), 2)
        x = F.max_pool2d(F.conv2d(x, p["conv2.weight"], p["conv2.bias"]).clamp_min(0), 2)
        return x.reshape(x.shape[0], -1) @ p["fc.weight"].T + p["fc.bias"]
    if arch == "lstm":
        e = p["embedding.weight"][x]                       # [b, T, 64]
        b, hidden = x.shape[0], p["lstm.weight_hh_l0"].shape[1]
        h = torch.zeros(b, hidden, dtype=e.dtype)
        c = torch.zeros(b, hidden, dtype=e.dtype)
        for step in range(x.shape[1]):
            z = (e[:, step] @ p["lstm.weight_ih_l0"].T + p["lstm.bias_ih_l0"]
                 + h @ p["lstm.weight_hh_l0"].T + p["lstm.bias_hh_l0"])
            i, f, g, o = z.split(hidden, dim=1)          # PyTorch gate order
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
        return h @ p["fc.weight"].T + p["fc.bias"]
    raise ValueError(arch)


def keras_loss(logits, y):
    e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    probs = e / e.sum(dim=1, keepdim=True)
    probs = probs / probs.sum(dim=1, keepdim=True)
    probs = torch.clamp(probs, 1e-7, 1 - 1e-7)
    return (-(y * torch.log(probs)).sum(dim=1)).mean()


def reference_losses(arch, tensors, batch, lr, b1, b2, eps, steps):
    p = {k: v.double().requires_grad_() for k, v in tensors.items() if k not in ("x", "y")}
    x = tensors["x"] if arch == "lstm" else tensors["x"].double()
    y = tensors["y"].double()
    n = x.shape[0]
    per_epoch = -(-n // batch)
    m = {k: torch.zeros_like(v) for k, v in p.items()}
    v = {k: torch.zeros_like(t) for k, t in p.items()}
    losses = []
    for k in range(steps):
        begin = (k % per_epoch) * batch
        end = min(begin + batch, n)
        loss = keras_loss(forward(arch, p, x[begin:end]), y[begin:end])
        grads = torch.autograd.grad(loss, list(p.values()))
        losses.append(loss.item())
        t = k + 1
        lr_t = lr * (1 - b2 ** t) ** 0.5 / (1 - b1 ** t)   # Keras's Adam
        with torch.no_grad():
            for (name, param), grad in zip(p.items(), grads):
                m[name].mul_(b1).add_((1 - b1) * grad)
                v[name].mul_(b2).add_((1 - b2) * grad * grad)
                param.sub_(lr_t * m[name] / (v[name].sqrt() + eps))
    return losses


# --------------------------------------------------------------------------

def write_case(root, arch, args):
    n, batch = DEFAULTS[arch]
    n, batch = args.n or n, args.batch or batch
    sizes = [int(s) for s in args.sizes.split(",")] if arch == "mlp" else None
    gen = torch.Generator().manual_seed(args.seed)
    tensors = make_tensors(arch, n, sizes, gen, mnist=args.data == "mnist")
    losses = reference_losses(arch, tensors, batch, args.lr, 0.9, 0.999, 1e-7, CHECK_STEPS)
    case_id = f"{arch}-test"
    if args.perturb_step is not None:
        losses[args.perturb_step] += 1e-3
        case_id += "-perturbed"
    case = {
        "case_id": case_id,
        "name": f"synthetic {arch} {args.data}" + (" (perturbed loss)" if args.perturb_step is not None else ""),
        "arch": arch,
        "batch": batch,
        "lr": args.lr, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7,
        "check_steps": CHECK_STEPS,
        "losses": losses,
        "timing_steps": args.timing_steps,
        "repeats": args.repeats,
        "device": args.device,
        "fit_ms_per_step": 1.0,    # placeholders: no .NET run behind a synthetic case
        "loop_ms_per_step": 1.0,
        "threads": torch.get_num_threads(),
    }
    if sizes:
        case["sizes"] = sizes
    folder = os.path.join(root, case_id)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "case.json"), "w") as f:
        json.dump(case, f, indent=2)
        f.write("\n")
    save_safetensors(os.path.join(folder, "tensors.safetensors"), tensors)
    print(f"wrote {folder} (loss {losses[0]:.5f} at step 0, {losses[-1]:.5f} at step {CHECK_STEPS - 1})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root")
    parser.add_argument("--arch", default="mlp,cnn,lstm", help="comma-separated: mlp, cnn, lstm")
    parser.add_argument("--sizes", default="784,128,64,10", help="mlp layer widths")
    parser.add_argument("--n", type=int, help="dataset rows (default per arch: 300, 150, 100)")
    parser.add_argument("--batch", type=int, help="batch size (default per arch: 64, 32, 32)")
    parser.add_argument("--data", choices=["random", "mnist"], default="random",
                        help="mlp/cnn inputs and labels: uniform random, or data/mnist's first n samples")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="recorded in case.json")
    parser.add_argument("--timing-steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--perturb-step", type=int, help="add 1e-3 to the expected loss of this step")
    args = parser.parse_args()
    for arch in args.arch.split(","):
        write_case(args.root, arch, args)


if __name__ == "__main__":
    main()
