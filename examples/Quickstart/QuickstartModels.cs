using OnnxKeras.Layers;
using OnnxKeras.Models;

namespace OnnxKeras.Examples.Quickstart;

/// <summary>
/// The tutorial's subclassed model (4.2): named <c>my_model</c>, two Dense layers created in the constructor, the forward
/// pass in Call, and compute_output_shape. Registered, with its constructor's argument in GetConfig, so that
/// Save/LoadModel can rebuild it (Keras's register_keras_serializable).
/// </summary>
[RegisterSerializable("MyModel", "quickstart")]
public sealed class MyModel : Model
{
    private readonly Dense layer1;
    private readonly Dense layer2;

    public MyModel(int numClasses = 10)
    {
        Name = "my_model";                                   // super(MyModel, self).__init__(name='my_model')
        NumClasses = numClasses;
        layer1 = new Dense(32, activation: "relu");
        layer2 = new Dense(numClasses, activation: "softmax");
    }

    public int NumClasses { get; }

    public override KTensor Call(KTensor inputs, bool training = false) => layer2.Apply(layer1.Apply(inputs));

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(NumClasses);

    public override LayerConfig GetConfig() => base.GetConfig().With("num_classes", NumClasses);
}

/// <summary>The tutorial's custom layer (4.3): a trainable kernel <c>kernel1</c> applied with matmul.</summary>
[RegisterSerializable("MyLayer")]
public sealed class MyLayer(int outputDim) : Layer
{
    private Variable? kernel;

    public int OutputDim { get; } = outputDim;

    public override void Build(Shape inputShape) =>
        kernel = AddWeight("kernel1", Shape.Of(inputShape[1]!.Value, OutputDim), initializer: "uniform");

    public override KTensor Call(KTensor inputs, bool training = false) => Ops.MatMul(inputs, kernel!);

    public override Shape ComputeOutputShape(Shape inputShape) => inputShape.WithLast(OutputDim);

    public override LayerConfig GetConfig() => base.GetConfig().With("output_dim", OutputDim);
}
