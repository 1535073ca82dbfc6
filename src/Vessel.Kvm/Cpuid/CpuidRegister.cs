namespace Vessel.Kvm.Cpuid;

public enum CpuidRegister
{
    Eax,
    Ebx,
    Ecx,
    Edx,
}
