using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras.Layers;

/// <summary>
/// Long Short-Term Memory layer (Keras's <c>LSTM</c>, Hochreiter 1997). With <c>z = x_t @ kernel + h @ recurrent_kernel + bias</c>
/// split into the gates i, f, c, o (Keras's order): <c>i = σ(z_i)</c>, <c>f = σ(z_f)</c>, <c>c' = f * c + i * tanh(z_c)</c>,
/// <c>o = σ(z_o)</c>, <c>h' = o * tanh(c')</c> (σ the recurrent activation, tanh the activation).
/// Weights: <c>kernel</c> [features, 4*units], <c>recurrent_kernel</c> [units, 4*units], <c>bias</c> [4*units].
/// With <c>returnState</c> the outputs are <c>[output, h, c]</c> (call <see cref="Layer.ApplyMany"/>).
/// </summary>
/// <example><code>var y = new LSTM(64).Apply(Keras.Input([null, 10]));   // [batch, 64]</code></example>
public sealed class LSTM : RecurrentLayer
{
    /// <summary>Creates an LSTM with Keras's defaults (tanh, sigmoid, glorot_uniform, orthogonal, zeros, unit forget bias).</summary>
    /// <param name="units">Size of the output and of each state.</param>
    /// <param name="activation">Activation of the cell candidate and output (default tanh; pass "linear" for none).</param>
    /// <param name="recurrentActivation">Activation of the gates (default sigmoid).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Initializer of the kernel (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of the bias (default zeros).</param>
    /// <param name="unitForgetBias">Whether the forget gate's bias starts at 1 (the other gates use <paramref name="biasInitializer"/>).</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="recurrentRegularizer">Penalty on the recurrent kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="returnSequences">Return the whole output sequence instead of the last output.</param>
    /// <param name="returnState">Also return the final states h and c.</param>
    /// <param name="goBackwards">Process the sequence backwards (and return the reversed sequence).</param>
    /// <param name="zeroOutputForMask">Output zeros at masked timesteps instead of repeating the previous output (Keras default false).</param>
    /// <param name="kernelConstraint">Projection applied to the kernel after each optimizer update.</param>
    /// <param name="recurrentConstraint">Projection applied to the recurrent kernel after each optimizer update.</param>
    /// <param name="biasConstraint">Projection applied to the bias after each optimizer update.</param>
    /// <param name="dropout">Fraction of the input features dropped in training (one mask per call, fixed over the timesteps).</param>
    /// <param name="recurrentDropout">Fraction of the previous output dropped in training before the recurrent kernel.</param>
    /// <param name="seed">Seed of the dropout masks; null draws from the global generator.</param>
    /// <param name="stateful">Start each call from the previous call's final states (the first call fixes the batch size).</param>
    /// <param name="unroll">Keras's unrolling hint; kept in the config, same result either way.</param>
    public LSTM(int units, ActivationFunction? activation = null, ActivationFunction? recurrentActivation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        bool unitForgetBias = true,
        Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool zeroOutputForMask = false,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, long? seed = null, bool stateful = false, bool unroll = false)
        : base(units, activation ?? Activations.Tanh, useBias,
            kernelInitializer ?? new GlorotUniform(), recurrentInitializer ?? new Orthogonal(), biasInitializer ?? new Zeros(),
            kernelRegularizer, recurrentRegularizer, biasRegularizer, returnSequences, returnState, goBackwards, zeroOutputForMask,
            kernelConstraint, recurrentConstraint, biasConstraint, dropout, recurrentDropout, seed, stateful, unroll)
    {
        RecurrentActivation = recurrentActivation ?? Activations.Sigmoid;
        UnitForgetBias = unitForgetBias;
    }

    /// <summary>Activation of the gates i, f, o (Keras default sigmoid).</summary>
    public ActivationFunction RecurrentActivation { get; }

    /// <summary>Whether the forget gate's bias is initialized to 1.</summary>
    public bool UnitForgetBias { get; }

    /// <inheritdoc />
    protected override int GateCount => 4;

    /// <inheritdoc />
    protected override int StateCount => 2;

    /// <inheritdoc />
    protected override Initializer BiasBuildInitializer => UnitForgetBias ? new ForgetBiasInitializer(BiasInitializer, Units) : BiasInitializer;

    /// <inheritdoc />
    protected override KTensor[] Step(KTensor projectedInput, KTensor[] states)
    {
        var z = Ops.Split(projectedInput + RecurrentProduct(states[0]), 4, -1);
        var i = RecurrentActivation.Apply(z[0]);
        var f = RecurrentActivation.Apply(z[1]);
        var c = f * states[1] + i * Activation.Apply(z[2]);
        var o = RecurrentActivation.Apply(z[3]);
        return [o * Activation.Apply(c), c];
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("recurrent_activation", RecurrentActivation.Name).With("unit_forget_bias", UnitForgetBias);

    /// <summary>Keras's unit-forget-bias initializer: [inner(units), ones(units), inner(2*units)].</summary>
    private sealed class ForgetBiasInitializer(Initializer inner, long units) : Initializer
    {
        public override string Name => inner.Name;

        protected override Tensor Sample(long[] shape, Generator generator)
        {
            using var a = inner.Generate(units);
            using var f = ones([units], ScalarType.Float32);
            using var b = inner.Generate(2 * units);
            return cat([a, f, b], 0);
        }
    }
}
