using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Tests.Guests;

namespace Vessel.X86.Tests.Apic;

/// <summary>A software VM with a few vCPUs that never run: their local APICs and the VM's chips are driven directly, PICs masked.</summary>
public sealed class ApicTestMachine : IDisposable
{
    private readonly GuestMemory memory = GuestMemory.Create(2UL << 20);

    public ApicTestMachine(int vcpus = 2)
    {
        Vm = new SoftwareVm(memory, new AcceleratorVmOptions(vcpus), NullMachineLog.Instance);
        for (int i = 0; i < vcpus; i++)
        {
            Vm.CreateVcpu(i, new RecordingIo());
        }

        // Mask both 8259s, as an OS that uses the IOAPIC does: their ExtINT would otherwise win over APIC vectors.
        Vm.Pic.WritePort(0x21, 0xFF);
        Vm.Pic.WritePort(0xA1, 0xFF);
    }

    public SoftwareVm Vm { get; }

    public X86.Apic.LocalApic Apic(int index) => Vm.Vcpus[index].LocalApic;

    public void Dispose()
    {
        Vm.Dispose();
        memory.Dispose();
    }
}

public static class LocalApicExtensions
{
    public static uint ReadRegister(this X86.Apic.LocalApic apic, int offset)
    {
        Span<byte> bytes = stackalloc byte[4];
        apic.Read((ulong)offset, bytes);
        return BitConverter.ToUInt32(bytes);
    }

    public static void WriteRegister(this X86.Apic.LocalApic apic, int offset, uint value) =>
        apic.Write((ulong)offset, BitConverter.GetBytes(value));

    public static bool RequestPending(this X86.Apic.LocalApic apic, int vector) =>
        (apic.ReadRegister(0x200 + ((vector >> 5) * 0x10)) & (1u << (vector & 31))) != 0;

    public static bool InService(this X86.Apic.LocalApic apic, int vector) =>
        (apic.ReadRegister(0x100 + ((vector >> 5) * 0x10)) & (1u << (vector & 31))) != 0;
}
