using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Examples.Quickstart;

/// <summary>
/// The quick-start's subclassed model: layers defined in the constructor, the forward pass in Call. Registered, with its
/// constructor's argument in GetConfig, so that Save/LoadModel can rebuild it (Keras's register_keras_serializable).
/// </summary>
[RegisterSerializable("MyModel", "quickstart")]
public sealed class MyModel : Model
{
    private readonly Dense dense1;
    private readonly Dense dense2;

    public MyModel(int numClasses = 10)
    {
        NumClasses = numClasses;
        dense1 = new Dense(32, activation: "relu");
        dense2 = new Dense(numClasses, activation: "sigmoid");
    }

    public int NumClasses { get; }

    public override KTensor Call(KTensor inputs, bool training = false) => dense2.Apply(dense1.Apply(inputs));

    public override LayerConfig GetConfig() => base.GetConfig().With("num_classes", NumClasses);
}

/// <summary>The quick-start's custom layer: a trainable kernel applied with matmul.</summary>
[RegisterSerializable("MyLayer")]
public sealed class MyLayer(int outputDim) : Layer
{
    private Variable? kernel;

    public int OutputDim { get; } = outputDim;

    public override void Build(Shape inputShape) =>
        kernel = AddWeight("kernel", Shape.Of(inputShape[^1]!.Value, OutputDim), initializer: "uniform");

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(OutputDim);

    public override LayerConfig GetConfig() => base.GetConfig().With("output_dim", OutputDim);
}
