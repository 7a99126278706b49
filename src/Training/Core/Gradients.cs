using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// Gradients of a scalar loss with respect to variables, for custom training steps: the role of TensorFlow's
/// <c>GradientTape.gradient</c> and of <c>torch.autograd.grad</c> in Keras's guide "Customizing what happens in fit()".
/// Pass the result to <see cref="Optimizers.Optimizer.ApplyGradients"/>.
/// </summary>
public static class Gradients
{
    /// <summary>
    /// The gradient of <paramref name="loss"/> (a scalar) with respect to each of <paramref name="variables"/>, in their
    /// order and shapes; null for a variable the loss does not depend on (as TensorFlow's tape returns None). The
    /// variables' own <c>grad</c> fields are left untouched, and the computation graph is released afterwards unless
    /// <paramref name="retainGraph"/> is true (to take gradients of the same loss again, e.g. for a second optimizer).
    /// The returned tensors are not tracked by autograd and belong to the enclosing dispose scope (Fit gives each step one).
    /// </summary>
    /// <param name="loss">A scalar computed from the variables with gradient tracking on (not under <c>no_grad</c>).</param>
    /// <param name="variables">Trainable variables, e.g. <c>model.TrainableWeights</c>.</param>
    /// <param name="retainGraph">Keep the graph for another gradient computation.</param>
    /// <exception cref="ArgumentException">The loss is not a scalar, does not require gradients, or a variable is not trainable.</exception>
    /// <example><code>
    /// Tensor?[] grads = Gradients.Of(loss, model.TrainableWeights);
    /// model.Optimizer.ApplyGradients(grads.Zip(model.TrainableWeights));
    /// </code></example>
    public static Tensor?[] Of(Tensor loss, IReadOnlyList<Variable> variables, bool retainGraph = false)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(variables);
        if (loss.numel() != 1) throw new ArgumentException($"Gradients.Of needs a scalar loss; got shape {Shape.Of(loss.shape)}.", nameof(loss));
        if (!loss.requires_grad)
            throw new ArgumentException("Gradients.Of: the loss does not depend on any trainable variable with gradient tracking on (was it " +
                "computed under no_grad, or from frozen layers only?).", nameof(loss));
        if (variables.Count == 0) return [];
        foreach (var v in variables)
        {
            if (!v.Value.requires_grad)
                throw new ArgumentException($"Gradients.Of: variable '{v.Path}' is not trainable (it has no gradient).", nameof(variables));
        }
        var inputs = variables.Select(v => v.Value).ToList();
        var grads = autograd.grad([loss], inputs, retain_graph: retainGraph, allow_unused: true);
        var result = new Tensor?[variables.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var g = i < grads.Count ? grads[i] : null;
            result[i] = g is null || g.IsInvalid ? null : g;
        }
        return result;
    }
}
