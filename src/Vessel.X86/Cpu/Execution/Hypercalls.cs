using Iced.Intel;
using Vessel.X86.Cpu.Decoding;

namespace Vessel.X86.Cpu.Execution;

/// <summary>
/// VMCALL and VMMCALL as a guest under KVM sees them: either instruction makes a hypercall whatever the vendor (KVM
/// rewrites the other vendor's one and carries on), with the number in RAX, arguments in RBX, RCX, RDX and RSI, and the
/// result in RAX (Linux Documentation/virt/kvm/x86/hypercalls.rst).
/// </summary>
public static unsafe class Hypercalls
{
    /// <summary>-KVM_EPERM: hypercalls from CPL &gt; 0 are refused.</summary>
    public const ulong NotPermitted = unchecked((ulong)-1L);

    /// <summary>-KVM_ENOSYS: a hypercall number the hypervisor does not implement.</summary>
    public const ulong NotImplemented = unchecked((ulong)-1000L);

    public static void Register(HandlerTable table)
    {
        table.Add(Code.Vmcall, &Hypercall);
        table.Add(Code.Vmmcall, &Hypercall);
    }

    private static void Hypercall(Cpu cpu, DecodedInstruction* instruction)
    {
        var registers = cpu.Registers;
        bool longCall = cpu.CodeBits == 64;
        ulong mask = longCall ? ulong.MaxValue : uint.MaxValue;
        ulong result;
        if (cpu.CurrentPrivilegeLevel != 0)
        {
            result = NotPermitted;
        }
        else if (cpu.Hypercalls is { } handler)
        {
            result = handler.Call(registers.Rax & mask, registers.Rbx & mask, registers.Rcx & mask, registers.Rdx & mask,
                registers.Rsi & mask, longCall);
        }
        else
        {
            result = NotImplemented;
        }

        registers.Rax = result & mask;
    }
}
