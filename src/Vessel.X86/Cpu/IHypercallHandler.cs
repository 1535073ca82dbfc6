namespace Vessel.X86.Cpu;

/// <summary>
/// What VMCALL and VMMCALL reach: the hypervisor's side of the guest's hypercall ABI. Called on the vCPU's own thread
/// for a call made at CPL 0, with the number and arguments already cut to 32 bits outside 64-bit mode.
/// </summary>
public interface IHypercallHandler
{
    /// <summary>The value the guest finds in RAX afterwards.</summary>
    ulong Call(ulong number, ulong argument0, ulong argument1, ulong argument2, ulong argument3, bool longCall);
}
