using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Optimizers;

// Updates from gradients the caller computed (Keras's apply_gradients / apply), for custom training steps.
public abstract partial class Optimizer
{
    /// <summary>
    /// Applies one update from explicit gradients (Keras's <c>optimizer.apply_gradients(zip(grads, variables))</c>), e.g.
    /// those <see cref="Gradients.Of"/> returns in a custom <see cref="Models.Model.TrainStep(Models.StepData)"/>. Clipping,
    /// weight decay, the learning-rate schedule, <see cref="Iterations"/> and the variables' constraints work as in
    /// <see cref="Apply(IReadOnlyList{Variable})"/>; a null gradient leaves its variable unchanged for this step (Keras skips variables without
    /// gradient). The first update builds the optimizer's state for these variables; later updates must give the same
    /// variables (in any order), as one optimizer serves one set of weights (use one optimizer per sub-model, as a GAN does).
    /// </summary>
    /// <param name="gradientsAndVariables">Pairs of a gradient (shaped as its variable) and the variable it updates.</param>
    /// <exception cref="ArgumentException">A gradient's shape differs from its variable's, or a variable is given twice.</exception>
    /// <exception cref="InvalidOperationException">The optimizer was built for another set of variables.</exception>
    /// <example><code>
    /// var grads = Gradients.Of(loss, model.TrainableWeights);
    /// model.Optimizer.ApplyGradients(grads.Zip(model.TrainableWeights));
    /// </code></example>
    public void ApplyGradients(IEnumerable<(Tensor? Gradient, Variable Variable)> gradientsAndVariables)
    {
        ArgumentNullException.ThrowIfNull(gradientsAndVariables);
        var pairs = gradientsAndVariables.ToList();
        if (pairs.Count == 0) throw new ArgumentException("ApplyGradients got no (gradient, variable) pairs.", nameof(gradientsAndVariables));
        var seen = new HashSet<Variable>(ReferenceEqualityComparer.Instance);
        foreach (var (g, v) in pairs)
        {
            ArgumentNullException.ThrowIfNull(v, nameof(gradientsAndVariables));
            if (!seen.Add(v)) throw new ArgumentException($"ApplyGradients got variable '{v.Path}' twice.", nameof(gradientsAndVariables));
            if (g is not null && !g.shape.SequenceEqual(v.Value.shape))
                throw new ArgumentException($"ApplyGradients: the gradient of variable '{v.Path}' has shape {Shape.Of(g.shape)}, the variable " +
                    $"{v.Shape}.", nameof(gradientsAndVariables));
        }
        // The same variables in another order: follow the order the state was built in.
        if (built is not null && built.Count == pairs.Count && !SameVariables(pairs.Select(p => p.Variable).ToList()) &&
            built.All(seen.Contains))
        {
            var byVariable = new Dictionary<Variable, Tensor?>(ReferenceEqualityComparer.Instance);
            foreach (var (g, v) in pairs) byVariable[v] = g;
            pairs = built.Select(v => (byVariable[v], v)).ToList();
        }
        var variables = pairs.Select(p => p.Variable).ToList();
        EnsureBuilt(variables);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        double lr = CurrentLearningRate;
        BeforeStep();
        if (packed is not null && pairs.All(p => p.Gradient is not null))
        {
            // Every variable has a gradient: copy them into the flat buffer (its views cover it whole) and update it at once.
            for (int i = 0; i < pairs.Count; i++)
            {
                var g = pairs[i].Gradient!;
                if (!ReferenceEquals(g, packed.GradientViews[i])) packed.GradientViews[i].copy_(g);
            }
            packed.Bound = false;
            UpdateWhole(packed.Parameters, Clip([packed.Gradients])[0]!, lr);
        }
        else
        {
            var grads = Clip(pairs.Select(p => p.Gradient?.detach()).ToArray());
            for (int i = 0; i < pairs.Count; i++)
            {
                if (grads[i] is Tensor g) UpdateWhole(variables[i].Value, g, lr, i);
            }
        }
        foreach (var v in variables) Constraint.ApplyTo(v);
        Iterations++;
    }

    /// <summary>
    /// Applies one update from <paramref name="gradients"/>, one per variable of <paramref name="variables"/> in the same
    /// order (Keras 3's <c>optimizer.apply(grads, trainable_variables)</c>); see
    /// <see cref="ApplyGradients(IEnumerable{ValueTuple{Tensor, Variable}})"/>.
    /// </summary>
    /// <example><code>model.Optimizer.Apply(Gradients.Of(loss, model.TrainableWeights), model.TrainableWeights);</code></example>
    public void Apply(IReadOnlyList<Tensor?> gradients, IReadOnlyList<Variable> variables)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentNullException.ThrowIfNull(variables);
        if (gradients.Count != variables.Count)
            throw new ArgumentException($"Apply got {gradients.Count} gradients for {variables.Count} variables; give one per variable.", nameof(gradients));
        ApplyGradients(gradients.Zip(variables));
    }
}
