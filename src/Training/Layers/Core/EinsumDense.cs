namespace OnnxKeras.Layers;

/// <summary>
/// A dense layer whose contraction is an einsum equation (Keras's <c>EinsumDense</c>):
/// <c>activation(einsum(equation, inputs, kernel) + bias)</c>. The equation names the input's axes, the kernel's axes and
/// the output's axes (<c>"abc,cde-&gt;abde"</c>: input <c>[batch, T, c]</c>, kernel <c>[c, d, e]</c>, output
/// <c>[batch, T, d, e]</c>). <see cref="OutputShape"/> is the output shape without the batch axis (null for axes taken from
/// the input); the kernel's axes take their sizes from the input or the output. <see cref="BiasAxes"/> names the output
/// axes that get a bias; the bias spans from the first of them to the last output axis, with size 1 on the others
/// (Keras's layout). Every equation of letters with an explicit output works; ellipses (<c>"...b,bc-&gt;...c"</c>) are
/// refused. Exports as ONNX <c>Einsum</c>.
/// </summary>
/// <example><code>new EinsumDense("abc,cde->abde", outputShape: [null, 4, 8], biasAxes: "de")   // [batch, T, 16] -> [batch, T, 4, 8]</code></example>
public sealed class EinsumDense : Layer
{
    private readonly string input, weight, output;
    private Variable? kernel;
    private Variable? bias;

    /// <summary>Creates an EinsumDense layer with Keras's defaults (glorot_uniform kernel, zero bias, no activation).</summary>
    /// <exception cref="ArgumentException">An equation not of the form <c>input,kernel-&gt;output</c> in letters, an output
    /// shape of the wrong length, or bias axes not in the output.</exception>
    /// <exception cref="NotSupportedException">An ellipsis in the equation.</exception>
    public EinsumDense(string equation, Shape outputShape, ActivationFunction? activation = null, string? biasAxes = null,
        Initializer? kernelInitializer = null, Initializer? biasInitializer = null,
        Regularizer? kernelRegularizer = null, Regularizer? biasRegularizer = null,
        Constraint? kernelConstraint = null, Constraint? biasConstraint = null)
    {
        ArgumentNullException.ThrowIfNull(equation);
        ArgumentNullException.ThrowIfNull(outputShape);
        if (equation.Contains("...", StringComparison.Ordinal))
            throw new NotSupportedException($"EinsumDense: equations with an ellipsis ('...') are not supported; got '{equation}'. " +
                "Name every axis with a letter (e.g. 'abc,cd->abd' instead of '...b,bc->...c').");
        var parts = equation.Replace(" ", "", StringComparison.Ordinal).Split("->");
        var operands = parts.Length == 2 ? parts[0].Split(',') : [];
        if (operands.Length != 2 || (parts[0] + parts[1]).Replace(",", "", StringComparison.Ordinal).Any(c => !char.IsAsciiLetter(c))
            || operands.Any(o => o.Length == 0) || parts[1].Length == 0)
            throw new ArgumentException($"EinsumDense: equation must have the form 'input,kernel->output' in letters " +
                $"(e.g. 'ab,bc->ac'); got '{equation}'.", nameof(equation));
        (input, weight, output) = (operands[0], operands[1], parts[1]);
        if (output.Length - 1 != outputShape.Rank)
            throw new ArgumentException($"EinsumDense: output_shape {outputShape} must give the {output.Length - 1} output axes after the " +
                $"batch axis of '{equation}'.", nameof(outputShape));
        foreach (char c in output)
        {
            if (!input.Contains(c) && !weight.Contains(c))
                throw new ArgumentException($"EinsumDense: output axis '{c}' of '{equation}' is in neither the input nor the kernel.", nameof(equation));
        }
        foreach (char c in weight)
        {
            if (!input.Contains(c) && !output.Contains(c))
                throw new ArgumentException($"EinsumDense: kernel axis '{c}' of '{equation}' is in neither the input nor the output.", nameof(equation));
        }
        if (biasAxes is not null && (biasAxes.Length == 0 || biasAxes.Any(c => !output.Contains(c))))
            throw new ArgumentException($"EinsumDense: bias_axes '{biasAxes}' must name output axes of '{equation}'.", nameof(biasAxes));
        Equation = equation;
        OutputShape = outputShape;
        Activation = activation ?? Activations.Linear;
        BiasAxes = biasAxes;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        BiasInitializer = biasInitializer ?? new Zeros();
        KernelRegularizer = kernelRegularizer;
        BiasRegularizer = biasRegularizer;
        KernelConstraint = kernelConstraint;
        BiasConstraint = biasConstraint;
    }

    /// <summary>The einsum equation <c>input,kernel-&gt;output</c>.</summary>
    public string Equation { get; }
    /// <summary>The output shape without the batch axis (Keras's <c>output_shape</c>; null entries come from the input).</summary>
    public Shape OutputShape { get; }
    /// <summary>Activation applied to the output.</summary>
    public ActivationFunction Activation { get; }
    /// <summary>The output axes (letters of the equation's output) that get a bias, or null for no bias.</summary>
    public string? BiasAxes { get; }
    /// <summary>Kernel initializer.</summary>
    public Initializer KernelInitializer { get; }
    /// <summary>Bias initializer.</summary>
    public Initializer BiasInitializer { get; }
    /// <summary>Kernel penalty.</summary>
    public Regularizer? KernelRegularizer { get; }
    /// <summary>Bias penalty.</summary>
    public Regularizer? BiasRegularizer { get; }
    /// <summary>Projection applied to the kernel after each optimizer update.</summary>
    public Constraint? KernelConstraint { get; }
    /// <summary>Projection applied to the bias after each optimizer update.</summary>
    public Constraint? BiasConstraint { get; }

    /// <summary>The kernel, its axes named by the equation's kernel part (after build).</summary>
    public Variable Kernel => kernel ?? throw new InvalidOperationException($"Layer '{Name}' is not built yet.");
    /// <summary>The bias, or null without <see cref="BiasAxes"/>.</summary>
    public Variable? Bias => bias;

    /// <inheritdoc />
    public override void Build(Shape inputShape)
    {
        if (inputShape.Rank != input.Length)
            throw new ArgumentException($"Layer '{Name}' (EinsumDense): equation '{Equation}' takes inputs of rank {input.Length}; got {inputShape}.");
        var full = FullOutputShape(inputShape);
        var kernelShape = weight.Select(c => input.Contains(c) ? inputShape[input.IndexOf(c)] : full[output.IndexOf(c)]).ToArray();
        if (kernelShape.Any(d => d is null))
            throw new ArgumentException($"Layer '{Name}' (EinsumDense): the kernel axes '{weight}' of '{Equation}' need known sizes; " +
                $"input {inputShape}, output_shape {OutputShape}.");
        kernel = AddWeight("kernel", new Shape(kernelShape), KernelInitializer, KernelRegularizer, constraint: KernelConstraint);
        if (BiasAxes is not null)
        {
            int first = BiasAxes.Min(c => output.IndexOf(c));
            var biasShape = output[first..].Select(c => BiasAxes.Contains(c) ? full[output.IndexOf(c)] : 1).ToArray();
            if (biasShape.Any(d => d is null))
                throw new ArgumentException($"Layer '{Name}' (EinsumDense): bias axes '{BiasAxes}' need known output sizes; output {full}.");
            bias = AddWeight("bias", new Shape(biasShape), BiasInitializer, BiasRegularizer, constraint: BiasConstraint);
        }
    }

    /// <inheritdoc />
    public override KTensor Call(KTensor inputs, bool training = false)
    {
        var y = Ops.Einsum(Equation, inputs, kernel!);
        if (bias is not null) y = Ops.Add(y, bias);
        return Activation.Apply(y);
    }

    /// <inheritdoc />
    public override Shape ComputeOutputShape(Shape inputShape) => FullOutputShape(inputShape);

    private Shape FullOutputShape(Shape inputShape)
    {
        if (inputShape.Rank != input.Length)
            throw new ArgumentException($"Layer '{Name}' (EinsumDense): equation '{Equation}' takes inputs of rank {input.Length}; got {inputShape}.");
        var dims = new long?[output.Length];
        for (int i = 0; i < output.Length; i++)
        {
            long? given = i == 0 ? null : OutputShape[i - 1];
            long? fromInput = input.Contains(output[i]) ? inputShape[input.IndexOf(output[i])] : null;
            if (given is not null && fromInput is not null && given != fromInput)
                throw new ArgumentException($"Layer '{Name}' (EinsumDense): output axis '{output[i]}' has size {fromInput} in the input " +
                    $"{inputShape} but {given} in output_shape {OutputShape}.");
            dims[i] = i == 0 && input.Contains(output[0]) ? inputShape[input.IndexOf(output[0])] : given ?? fromInput;
        }
        return new Shape(dims);
    }

    /// <inheritdoc />
    public override LayerConfig GetConfig() => base.GetConfig()
        .With("output_shape", OutputShape).With("equation", Equation).With("activation", Activation.Name).With("bias_axes", BiasAxes)
        .With("kernel_initializer", KernelInitializer).With("bias_initializer", BiasInitializer)
        .With("kernel_regularizer", KernelRegularizer).With("bias_regularizer", BiasRegularizer)
        .With("kernel_constraint", KernelConstraint).With("bias_constraint", BiasConstraint);
}
