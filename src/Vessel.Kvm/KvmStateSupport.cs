using Vessel.Core.Accel.State;

namespace Vessel.Kvm;

/// <summary>What this host's KVM can save and restore of a vCPU, looked up once per VM.</summary>
/// <param name="ModelSpecificRegisters">The MSRs a vCPU section lists: the neutral architectural set and KVM's paravirtual ones, each only where KVM_GET_MSR_INDEX_LIST has it.</param>
/// <param name="Xsave">KVM_CAP_XSAVE: the whole XSAVE area (AVX and later) is saved beside the FXSAVE image.</param>
/// <param name="Xcrs">KVM_CAP_XCRS: XCR0 is saved.</param>
internal sealed record KvmStateSupport(uint[] ModelSpecificRegisters, bool Xsave, bool Xcrs)
{
    public static KvmStateSupport Probe(KvmHost host)
    {
        var listed = host.GetMsrIndexList().ToHashSet();

        // The MTRRs and MISC_ENABLE are served by KVM_GET_MSRS without being listed in every kernel's msrs_to_save.
        var msrs = SavedModelSpecificRegisters.Architectural
            .Where(index => listed.Contains(index) || index is >= SavedModelSpecificRegisters.MtrrPhysicalBase0 and <= SavedModelSpecificRegisters.MtrrDefaultType
                || index == SavedModelSpecificRegisters.MiscEnable)
            .Concat(SavedModelSpecificRegisters.KvmParavirtual.Where(listed.Contains))
            .ToArray();
        return new KvmStateSupport(msrs, host.CheckExtension(Interop.KvmCapability.Xsave) > 0, host.CheckExtension(Interop.KvmCapability.Xcrs) > 0);
    }
}
