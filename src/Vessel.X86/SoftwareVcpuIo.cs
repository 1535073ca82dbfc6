using Vessel.Core.Accel;
using Vessel.X86.Apic;
using Vessel.X86.IrqChip;
using Vessel.X86.Timers;

namespace Vessel.X86;

/// <summary>
/// A software vCPU's view of I/O: what KVM emulates in-kernel (PIC and ELCR ports, PIT and port 0x61, the IOAPIC window,
/// this CPU's own xAPIC page) is served by the software VM's chips; everything else goes to the machine, so the VMM sees
/// exactly the accesses it would see under KVM.
/// </summary>
internal sealed class SoftwareVcpuIo(IVcpuIo machine, DualPic pic, Pit8254 pit, IoApic ioApic) : IVcpuIo
{
    public LocalApic? LocalApic { get; set; }

    private static bool Owns(ushort port) => DualPic.ClaimsPort(port) || Pit8254.ClaimsPort(port);

    public void PortRead(ushort port, Span<byte> data)
    {
        if (!Owns(port))
        {
            machine.PortRead(port, data);
            return;
        }

        // A wide access to chip ports reads consecutive byte ports, as the ISA bus splits it.
        for (int i = 0; i < data.Length; i++)
        {
            ushort current = (ushort)(port + i);
            if (DualPic.ClaimsPort(current))
            {
                data[i] = pic.ReadPort(current);
            }
            else if (Pit8254.ClaimsPort(current))
            {
                data[i] = pit.ReadPort(current);
            }
            else
            {
                machine.PortRead(current, data.Slice(i, 1));
            }
        }
    }

    public void PortWrite(ushort port, ReadOnlySpan<byte> data)
    {
        if (!Owns(port))
        {
            machine.PortWrite(port, data);
            return;
        }

        for (int i = 0; i < data.Length; i++)
        {
            ushort current = (ushort)(port + i);
            if (DualPic.ClaimsPort(current))
            {
                pic.WritePort(current, data[i]);
            }
            else if (Pit8254.ClaimsPort(current))
            {
                pit.WritePort(current, data[i]);
            }
            else
            {
                machine.PortWrite(current, data.Slice(i, 1));
            }
        }
    }

    public void MmioRead(ulong address, Span<byte> data)
    {
        if (LocalApic is { RegisterPageEnabled: true } apic && address - apic.BaseAddress < LocalApic.PageSize)
        {
            apic.Read(address - apic.BaseAddress, data);
        }
        else if (address - IoApic.DefaultBase < IoApic.WindowSize)
        {
            ioApic.Read(address - IoApic.DefaultBase, data);
        }
        else
        {
            machine.MmioRead(address, data);
        }
    }

    public void MmioWrite(ulong address, ReadOnlySpan<byte> data)
    {
        if (LocalApic is { RegisterPageEnabled: true } apic && address - apic.BaseAddress < LocalApic.PageSize)
        {
            apic.Write(address - apic.BaseAddress, data);
        }
        else if (address - IoApic.DefaultBase < IoApic.WindowSize)
        {
            ioApic.Write(address - IoApic.DefaultBase, data);
        }
        else
        {
            machine.MmioWrite(address, data);
        }
    }
}
