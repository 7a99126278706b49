// Probe (issue 17): does running a training step as one TorchScript function beat running it op by op from .NET?
// The quick-start MLP (72-32-32-10, batch 32, softmax cross-entropy, SGD 0.01), one libtorch thread. Three variants
// alternate in one process, R rounds of N steps each:
//   eager:    forward and loss op by op from C#, backward, SGD update op by op;
//   jit-fwd:  forward and loss as one TorchScript call, backward and update from C#;
//   jit-full: forward, loss, torch.autograd.grad and the update in one TorchScript call.
// Usage: dotnet run -c Release --project bench/JitProbe [-- ROUNDS STEPS]   (defaults 10 rounds of 500 steps)
using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

int rounds = args.Length > 0 ? int.Parse(args[0]) : 10, steps = args.Length > 1 ? int.Parse(args[1]) : 500;
set_num_threads(1);
manual_seed(1);
const int B = 32, I = 72, H = 32, O = 10;
var w1 = (randn(I, H) * 0.1).requires_grad_(); var b1 = zeros(H).requires_grad_();
var w2 = (randn(H, H) * 0.1).requires_grad_(); var b2 = zeros(H).requires_grad_();
var w3 = (randn(H, O) * 0.1).requires_grad_(); var b3 = zeros(O).requires_grad_();
Tensor[] ps = [w1, b1, w2, b2, w3, b3];
var x = randn(B, I);
var y = randint(0, O, B);
// A TorchScript compile error aborts the process (libtorch throws torch::jit::ErrorReport through the C API), so
// generated script must be right by construction: one reason the probe's result was not turned into a feature.
using var cu = jit.compile(@"
def fwd(x: Tensor, y: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, w3: Tensor, b3: Tensor):
    h = torch.relu(torch.addmm(b1, x, w1))
    h = torch.relu(torch.addmm(b2, h, w2))
    z = torch.addmm(b3, h, w3)
    return torch.nll_loss(torch.log_softmax(z, 1), y)

def full(x: Tensor, y: Tensor, w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, w3: Tensor, b3: Tensor):
    h = torch.relu(torch.addmm(b1, x, w1))
    h = torch.relu(torch.addmm(b2, h, w2))
    z = torch.addmm(b3, h, w3)
    loss = torch.nll_loss(torch.log_softmax(z, 1), y)
    ps = [w1, b1, w2, b2, w3, b3]
    gs = torch.autograd.grad([loss], ps)
    for i in range(6):
        g = gs[i]
        if g is not None:
            ps[i].data.sub_(g * 0.01)
    return loss
");

Tensor Eager()
{
    var h = nn.functional.relu(addmm(b1, x, w1, 1, 1));
    h = nn.functional.relu(addmm(b2, h, w2, 1, 1));
    return nn.functional.cross_entropy(addmm(b3, h, w3, 1, 1), y);
}

void Step(Func<Tensor> loss)
{
    using var scope = NewDisposeScope();
    foreach (var p in ps) p.grad?.zero_();
    loss().backward();
    using (no_grad()) foreach (var p in ps) p.sub_(p.grad! * 0.01);
}

void Full()
{
    using var scope = NewDisposeScope();
    cu.invoke<Tensor>("full", x, y, w1, b1, w2, b2, w3, b3);
}

Action[] variants = [() => Step(Eager), () => Step(() => cu.invoke<Tensor>("fwd", x, y, w1, b1, w2, b2, w3, b3)), Full];
string[] names = ["eager", "jit-fwd", "jit-full"];
// The three forms compute the same loss (checked before timing).
Console.WriteLine($"loss eager {Eager().item<float>():F6}, jit {cu.invoke<Tensor>("fwd", x, y, w1, b1, w2, b2, w3, b3).item<float>():F6}");
foreach (var v in variants) for (int i = 0; i < 300; i++) v();
var times = names.Select(_ => new List<double>()).ToArray();
for (int r = 0; r < rounds; r++)
    for (int k = 0; k < variants.Length; k++)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < steps; i++) variants[k]();
        times[k].Add(sw.Elapsed.TotalMilliseconds * 1000 / steps);
    }
foreach (var t in times) t.Sort();
for (int k = 0; k < names.Length; k++)
{
    double min = times[k][0], median = times[k][rounds / 2];
    Console.WriteLine($"{names[k],-9} min {min,7:F1} us  median {median,7:F1} us  ratio to eager: min {min / times[0][0]:F3}, median {median / times[0][rounds / 2]:F3}");
}
