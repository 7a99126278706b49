using OnnxKeras.Bench;
using Xunit;

namespace OnnxKeras.Tests.Bench;

/// <summary>
/// The training benchmark's FLOP counts (bench/OnnxKeras.Bench/TrainFlops.cs, compiled into this project), against
/// counts done by hand for tiny networks: a multiply-add is 2 FLOPs; training is forward + weight gradient + input
/// gradient (3x the forward), except a first layer on data, which has no input gradient (2x).
/// </summary>
public class TrainFlopsTests
{
    [Fact]
    public void LstmCountsFourGatesOverInputAndStatePerTimestepThreeTimesPlusTheDense()
    {
        // 2 timesteps, 3 inputs, 2 units, 4 classes, batch 5.
        // Per timestep and sample: 4 gates x (3 inputs + 2 state) x 2 units = 40 multiply-adds = 80 FLOPs; 2 timesteps: 160.
        // Dense 2 -> 4: 8 multiply-adds = 16 FLOPs. Forward per sample 176, training x3 = 528, batch 5: 2,640.
        Assert.Equal(2640.0, TrainFlops.Lstm(batch: 5, timesteps: 2, inputs: 3, units: 2, classes: 4));
    }

    [Fact]
    public void BenchLstmCaseMatchesItsShapes()
    {
        // The bench case: 100 timesteps, 64 inputs (embedding), 128 units, 10 classes, batch 64.
        // 4 x (64 + 128) x 128 = 98,304 multiply-adds per timestep, x 100 = 9,830,400; dense 1,280; sum 9,831,680
        // multiply-adds = 19,663,360 FLOPs forward per sample; x3 = 58,990,080; x64 = 3,775,365,120.
        Assert.Equal(3_775_365_120.0, TrainFlops.Lstm(64, 100, 64, 128, 10));
    }

    [Fact]
    public void MlpFirstLayerHasNoInputGradient()
    {
        // 3 -> 4 -> 2, batch 2. Layer 1: 12 multiply-adds = 24 FLOPs, x2 (forward, weight gradient; the input is data) = 48.
        // Layer 2: 8 multiply-adds = 16 FLOPs, x3 = 48. Per sample 96, batch 2: 192.
        Assert.Equal(192.0, TrainFlops.Mlp([3, 4, 2], 2));
        // One layer only: 5 -> 1, batch 1: 5 multiply-adds = 10 FLOPs, x2 = 20.
        Assert.Equal(20.0, TrainFlops.Mlp([5, 1], 1));
    }

    [Fact]
    public void MnistCnnMatchesItsShapes()
    {
        // conv1: 26 x 26 x 32 outputs x 9 x 1 = 194,688 multiply-adds = 389,376 FLOPs, x2 (on data) = 778,752.
        // conv2: 11 x 11 x 64 outputs x 9 x 32 = 2,230,272 multiply-adds = 4,460,544 FLOPs, x3 = 13,381,632.
        // dense 1600 -> 10: 16,000 multiply-adds = 32,000 FLOPs, x3 = 96,000. Per sample 14,256,384; batch 128: 1,824,817,152.
        Assert.Equal(1_824_817_152.0, TrainFlops.MnistCnn(128));
    }
}
