using OnnxKeras.Layers;
using Xunit;
using static TorchSharp.torch;

namespace OnnxKeras.Tests.Optimizers;

/// <summary>A layer that only owns weights with given starting values, to hand variables to an optimizer.</summary>
internal sealed class WeightHolder : Layer
{
    public WeightHolder(params double[][] initial)
    {
        Vars = initial.Select((values, i) =>
        {
            var v = AddWeight($"w{i}", Shape.Of(values.Length), new Zeros());
            v.Assign(values.Select(x => (float)x).ToArray());
            return v;
        }).ToArray();
        Built = true;
    }

    public Variable[] Vars { get; }

    public override KTensor Call(KTensor inputs, bool training = false) => inputs;
}

internal static class OptimizerTestHelpers
{
    /// <summary>Replaces the gradient libtorch holds for <paramref name="v"/>.</summary>
    public static void SetGrad(Variable v, double[] grad)
    {
        using var g = tensor(grad.Select(x => (float)x).ToArray(), v.Value.shape);
        v.Value.grad = g;
    }

    /// <summary>All variables' values, flattened in order.</summary>
    public static double[] Values(IEnumerable<Variable> vars) => vars.SelectMany(v => v.ToArray()).Select(x => (double)x).ToArray();

}
