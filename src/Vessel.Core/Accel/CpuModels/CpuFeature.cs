namespace Vessel.Core.Accel.CpuModels;

/// <summary>One named CPU feature: a bit of a <see cref="CpuFeatureWord"/>, spelled as QEMU spells it.</summary>
public sealed record CpuFeature(string Name, CpuFeatureWord Word, int Bit)
{
    public uint Mask => 1u << Bit;
}
