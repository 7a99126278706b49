using TorchSharp;
using static TorchSharp.torch;

namespace OnnxKeras;

/// <summary>
/// A layer weight (Keras's <c>Variable</c>): a named tensor in Keras's layout (Dense kernel is [in, out],
/// Conv2D kernel [kh, kw, in, out]) that the optimizer updates when it is trainable.
/// The variable owns its native tensor; its layer disposes it.
/// </summary>
public sealed class Variable : IDisposable
{
    private bool trainable;

    internal Variable(string name, string path, Tensor value, bool trainable, bool declaredTrainable, Regularizer? regularizer, Constraint? constraint = null)
    {
        Constraint = constraint;
        Name = name;
        Path = path;
        this.trainable = trainable;
        DeclaredTrainable = declaredTrainable;
        Regularizer = regularizer;
        Value = value.detach().requires_grad_(trainable).DetachFromDisposeScope();
    }

    /// <summary>Short name, e.g. <c>kernel</c>.</summary>
    public string Name { get; }

    /// <summary>Full name including the layer, e.g. <c>dense/kernel</c>.</summary>
    public string Path { get; internal set; }

    /// <summary>The tensor (a leaf that requires grad when trainable).</summary>
    public Tensor Value { get; private set; }

    /// <summary>Shape in Keras's layout.</summary>
    public Shape Shape => Shape.Of(Value.shape);

    /// <summary>Penalty added to the loss, or null.</summary>
    public Regularizer? Regularizer { get; }

    /// <summary>
    /// Projection the optimizer applies after each update of this variable (Keras's <c>variable.constraint</c>), or null.
    /// </summary>
    public Constraint? Constraint { get; }

    /// <summary>Whether the optimizer updates this variable (and gradients flow to it).</summary>
    public bool Trainable
    {
        get => trainable;
        internal set
        {
            trainable = value;
            Value.requires_grad_(value);
        }
    }

    /// <summary>Whether the weight was created trainable (moving statistics are not), whatever the layer's freezing.</summary>
    internal bool DeclaredTrainable { get; }

    /// <summary>Number of scalars.</summary>
    public long Size => Value.numel();

    /// <summary>A copy of the values as a flat float array (row-major, Keras layout).</summary>
    public float[] ToArray()
    {
        using var cpu = Value.detach().cpu().contiguous();
        return cpu.data<float>().ToArray();
    }

    /// <summary>Overwrites the values in place (row-major, Keras layout); the shape must match.</summary>
    public void Assign(Tensor source)
    {
        if (!source.shape.SequenceEqual(Value.shape))
        {
            throw new ArgumentException($"Cannot assign a value of shape {Shape.Of(source.shape)} to variable '{Path}' of shape {Shape}.");
        }
        using var _ = no_grad();
        Value.copy_(source);
    }

    /// <summary>Overwrites the values in place from a flat row-major array.</summary>
    public void Assign(float[] values)
    {
        if (values.LongLength != Size)
        {
            throw new ArgumentException($"Variable '{Path}' of shape {Shape} holds {Size} values; got {values.LongLength}.");
        }
        using var src = tensor(values, Value.shape, dtype: Value.dtype);
        Assign(src);
    }

    /// <summary>
    /// Makes the variable a view of <paramref name="storage"/> (same shape and values), e.g. a slice of the optimizer's
    /// flat parameter buffer; the gradient moves along and the previous tensor is released.
    /// </summary>
    internal void Rebind(Tensor storage)
    {
        if (!storage.shape.SequenceEqual(Value.shape) || storage.dtype != Value.dtype)
            throw new ArgumentException($"Cannot rebind variable '{Path}' of shape {Shape} to a tensor of shape {Shape.Of(storage.shape)}.");
        var old = Value;
        using var grad = old.grad;
        Value = storage.detach().requires_grad_(trainable).DetachFromDisposeScope();
        if (grad is not null) Value.grad = grad;
        old.Dispose();
    }

    /// <summary>Implicit view as a KTensor for use in <see cref="Ops"/>.</summary>
    public static implicit operator KTensor(Variable v) => new(v.Value);

    /// <inheritdoc />
    public void Dispose() => Value.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"<Variable path={Path}, shape={Shape}, trainable={Trainable}>";
}
