namespace OnnxKeras.Layers;

/// <summary>
/// Gated Recurrent Unit (Keras's <c>GRU</c>, Cho et al. 2014) with Keras's gate order z, r, h:
/// <c>z = σ(x W_z + h U_z + b_z)</c>, <c>r = σ(x W_r + h U_r + b_r)</c>, and the candidate
/// <c>hh = tanh(x W_h + b_h + r * (h U_h + b'_h))</c> with <c>resetAfter</c> (Keras's default; separate input and
/// recurrent biases, <c>bias</c> [2, 3*units], row 0 input, row 1 recurrent) or <c>hh = tanh(x W_h + (r * h) U_h + b_h)</c>
/// without (<c>bias</c> [3*units]); then <c>h' = z * h + (1 - z) * hh</c>.
/// Weights: <c>kernel</c> [features, 3*units], <c>recurrent_kernel</c> [units, 3*units], <c>bias</c>.
/// With <c>returnState</c> the outputs are <c>[output, h]</c> (call <see cref="Layer.ApplyMany"/>).
/// </summary>
/// <example><code>var y = new GRU(32, returnSequences: true).Apply(Keras.Input([null, 10]));</code></example>
public sealed class GRU : RecurrentLayer
{
    /// <summary>Creates a GRU with Keras's defaults (tanh, sigmoid, glorot_uniform, orthogonal, zeros, reset_after).</summary>
    /// <param name="units">Size of the output and state.</param>
    /// <param name="activation">Activation of the candidate (default tanh; pass "linear" for none).</param>
    /// <param name="recurrentActivation">Activation of the gates z and r (default sigmoid).</param>
    /// <param name="useBias">Whether to add biases.</param>
    /// <param name="kernelInitializer">Initializer of the kernel (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of the bias (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="recurrentRegularizer">Penalty on the recurrent kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="returnSequences">Return the whole output sequence instead of the last output.</param>
    /// <param name="returnState">Also return the final state.</param>
    /// <param name="goBackwards">Process the sequence backwards (and return the reversed sequence).</param>
    /// <param name="resetAfter">Apply the reset gate after the recurrent matrix product (Keras 3 default, cuDNN-compatible).</param>
    /// <param name="zeroOutputForMask">Output zeros at masked timesteps instead of repeating the previous output (Keras default false).</param>
    /// <param name="kernelConstraint">Projection applied to the kernel after each optimizer update.</param>
    /// <param name="recurrentConstraint">Projection applied to the recurrent kernel after each optimizer update.</param>
    /// <param name="biasConstraint">Projection applied to the bias after each optimizer update.</param>
    /// <param name="dropout">Fraction of the input features dropped in training (one mask per call, fixed over the timesteps).</param>
    /// <param name="recurrentDropout">Fraction of the previous output dropped in training before the recurrent kernel.</param>
    /// <param name="seed">Seed of the dropout masks; null draws from the global generator.</param>
    /// <param name="stateful">Start each call from the previous call's final states (the first call fixes the batch size).</param>
    /// <param name="unroll">Keras's unrolling hint; kept in the config, same result either way.</param>
    public GRU(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool resetAfter = true, bool zeroOutputForMask = false,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, long? seed = null, bool stateful = false, bool unroll = false)
        : base(units, activation ?? Activations.Tanh, useBias,
            kernelInitializer ?? new GlorotUniform(), recurrentInitializer ?? new Orthogonal(), biasInitializer ?? new Zeros(),
            kernelRegularizer, recurrentRegularizer, biasRegularizer, returnSequences, returnState, goBackwards, zeroOutputForMask,
            kernelConstraint, recurrentConstraint, biasConstraint, dropout, recurrentDropout, seed, stateful, unroll)
    {
        RecurrentActivation = recurrentActivation ?? Activations.Sigmoid;
        ResetAfter = resetAfter;
    }

    /// <summary>Activation of the gates z and r (Keras default sigmoid).</summary>
    public ActivationFunction RecurrentActivation { get; }

    /// <summary>Whether the reset gate multiplies the recurrent product (true) or the previous state before it (false).</summary>
    public bool ResetAfter { get; }

    /// <inheritdoc />
    protected override int GateCount => 3;

    /// <inheritdoc />
    protected override Shape BiasShape => ResetAfter ? Shape.Of(2, 3L * Units) : Shape.Of(3L * Units);

    /// <inheritdoc />
    protected override KTensor? InputBias => Bias is null ? null : ResetAfter ? Ops.Take(Bias, 0, axis: 0) : Bias;

    /// <inheritdoc />
    protected override KTensor[] Step(KTensor projectedInput, KTensor[] states)
    {
        var h = states[0];
        var x = Ops.Split(projectedInput, 3, -1);
        KTensor z, r, hh;
        if (ResetAfter)
        {
            var inner = RecurrentProduct(h);
            if (Bias is not null) inner += Ops.Take(Bias, 1, axis: 0);
            var u = Ops.Split(inner, 3, -1);
            z = RecurrentActivation.Apply(x[0] + u[0]);
            r = RecurrentActivation.Apply(x[1] + u[1]);
            hh = Activation.Apply(x[2] + r * u[2]);
        }
        else
        {
            var u = RecurrentProduct(h, 0, 2);
            z = RecurrentActivation.Apply(x[0] + Ops.Slice(u, [0, 0], [-1, Units]));
            r = RecurrentActivation.Apply(x[1] + Ops.Slice(u, [0, Units], [-1, Units]));
            hh = Activation.Apply(x[2] + Ops.MatMul(r * RecurrentInput(h, 2), Ops.Slice(RecurrentKernel, [0, 2L * Units], [-1, Units])));
        }
        return [z * h + Ops.Add(-z, 1.0) * hh];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("recurrent_activation", RecurrentActivation.Name).With("reset_after", ResetAfter);
}
