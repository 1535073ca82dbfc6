namespace Vessel.Kvm.Cpuid;

/// <summary>Feature bits a template hides from the guest: <paramref name="ClearBits"/> of one register of one leaf/subleaf, and why.</summary>
public readonly record struct CpuidFeatureMask(uint Function, uint Index, CpuidRegister Register, uint ClearBits, string Reason);
