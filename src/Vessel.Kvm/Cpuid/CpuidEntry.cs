namespace Vessel.Kvm.Cpuid;

/// <summary>One CPUID leaf (and subleaf, when <paramref name="IndexSignificant"/>) as the guest will see it.</summary>
public record struct CpuidEntry(uint Function, uint Index, bool IndexSignificant, uint Eax, uint Ebx, uint Ecx, uint Edx)
{
    public readonly uint Get(CpuidRegister register) => register switch
    {
        CpuidRegister.Eax => Eax,
        CpuidRegister.Ebx => Ebx,
        CpuidRegister.Ecx => Ecx,
        _ => Edx,
    };

    public void Set(CpuidRegister register, uint value)
    {
        switch (register)
        {
            case CpuidRegister.Eax: Eax = value; break;
            case CpuidRegister.Ebx: Ebx = value; break;
            case CpuidRegister.Ecx: Ecx = value; break;
            default: Edx = value; break;
        }
    }
}
