namespace OnnxKeras.Layers;

/// <summary>
/// Fully connected recurrent layer (Keras's <c>SimpleRNN</c>): <c>h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)</c>,
/// with <c>kernel</c> [features, units], <c>recurrent_kernel</c> [units, units] and <c>bias</c> [units].
/// Input [batch, timesteps, features]; output [batch, units], or [batch, timesteps, units] with <c>returnSequences</c>;
/// with <c>returnState</c> also the final state h (call <see cref="Layer.ApplyMany"/>).
/// </summary>
/// <example><code>var y = new SimpleRNN(32, returnSequences: true).Apply(Keras.Input([null, 8]));</code></example>
public sealed class SimpleRNN : RecurrentLayer
{
    /// <summary>Creates a SimpleRNN with Keras's defaults (tanh, glorot_uniform kernel, orthogonal recurrent kernel, zero bias).</summary>
    /// <param name="units">Size of the output and state.</param>
    /// <param name="activation">Activation (default tanh; pass "linear" for none).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="kernelInitializer">Initializer of the kernel (default glorot_uniform).</param>
    /// <param name="recurrentInitializer">Initializer of the recurrent kernel (default orthogonal).</param>
    /// <param name="biasInitializer">Initializer of the bias (default zeros).</param>
    /// <param name="kernelRegularizer">Penalty on the kernel.</param>
    /// <param name="recurrentRegularizer">Penalty on the recurrent kernel.</param>
    /// <param name="biasRegularizer">Penalty on the bias.</param>
    /// <param name="returnSequences">Return the whole output sequence instead of the last output.</param>
    /// <param name="returnState">Also return the final state.</param>
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
    public SimpleRNN(int units, ActivationFunction? activation = null, bool useBias = true,
        Initializer? kernelInitializer = null, Initializer? recurrentInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? recurrentRegularizer = null, Regularizer? biasRegularizer = null,
        bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool zeroOutputForMask = false,
        Constraint? kernelConstraint = null, Constraint? recurrentConstraint = null, Constraint? biasConstraint = null,
        double dropout = 0.0, double recurrentDropout = 0.0, long? seed = null, bool stateful = false, bool unroll = false)
        : base(units, activation ?? Activations.Tanh, useBias,
            kernelInitializer ?? new GlorotUniform(), recurrentInitializer ?? new Orthogonal(), biasInitializer ?? new Zeros(),
            kernelRegularizer, recurrentRegularizer, biasRegularizer, returnSequences, returnState, goBackwards, zeroOutputForMask,
            kernelConstraint, recurrentConstraint, biasConstraint, dropout, recurrentDropout, seed, stateful, unroll)
    {
    }

    /// <inheritdoc />
    protected override int GateCount => 1;

    /// <inheritdoc />
    protected override KTensor[] Step(KTensor projectedInput, KTensor[] states) =>
        [Activation.Apply(projectedInput + RecurrentProduct(states[0]))];
}
