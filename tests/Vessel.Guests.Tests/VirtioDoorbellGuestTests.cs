using Iced.Intel;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Devices.Virtio.Entropy;
using Vessel.Devices.Virtio.Transport;
using Vessel.Guests.Tests.Linux;
using Vessel.Testing.Images;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Guests.Tests;

/// <summary>
/// A bare-metal virtio driver for the machine's virtio-rng, the same program on each accelerator: it finds the function on PCI,
/// enables MSI-X, sets up one queue, rings the doorbell and waits for the completion's MSI in the local APIC. Under KVM the
/// doorbell is an ioeventfd and the MSI an irqfd; under the software CPU both are direct calls. The result must not differ.
/// </summary>
public sealed class VirtioDoorbellGuestTests
{
    private const uint VirtioRngId = 0x1044_1AF4;
    private const ulong Descriptors = 0x30000;
    private const ulong Available = 0x31000;
    private const ulong Used = 0x32000;
    private const ulong Buffers = 0x33000;
    private const int BufferLength = 16;
    private const int FirstVector = 0x41;
    private const int SecondVector = 0x42;
    private const byte NotFound = 0x7E;
    private const byte WrongUsedIndex = 0x7D;

    /// <summary>The page directory <see cref="PlatformGuest.MapApicWindows"/> installs for 3-4 GiB, where the BAR lies.</summary>
    private const ulong MmioDirectory = 0x2000;

    [Theory]
    [BareMetalAccelerator(GuestAccelerators.Software)]
    [BareMetalAccelerator(GuestAccelerators.Kvm)]
    public void Two_requests_complete_with_an_msi_each_and_the_second_follows_a_reprogrammed_vector(string accelerator)
    {
        string path = Elf64Program.WriteTemporary(Driver);
        try
        {
            var config = new MachineConfig
            {
                KernelPath = path,
                MemoryBytes = Vessel.Vmm.Configuration.MemorySize.Parse("64M"),
                VcpuCount = 1,
                Accelerator = accelerator == GuestAccelerators.Kvm ? AcceleratorKind.Kvm : AcceleratorKind.Software,
            };
            using var built = MachineBuilder.Build(config, GuestAccelerators.Create(accelerator), new CapturingSerialOutput(), NullMachineLog.Instance);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

            var stop = built.Machine.Run(timeout.Token);

            Assert.True(stop.Reason == MachineStopReason.DebugExit, $"{stop.Reason}: {stop.Detail}");
            Assert.Equal((BufferLength << 1) | 1, stop.ExitStatus);
            var rng = Enumerable.Range(0, 32).Select(slot => built.Devices!.Pci[slot]).OfType<VirtioPciFunction>().Single(f => f.Device is VirtioEntropyDevice);
            if (built.Devices!.KernelIoEvents != null)
            {
                ulong bar = rng.ProgrammedAddress(rng.Bar);
                Assert.Equal([bar + VirtioPciFunction.NotifyOffset], rng.KernelDoorbells.Select(a => a.Value));
                Assert.Equal(rng.Msix.VectorCount, rng.Msix.KernelRouteCount);
            }
            else
            {
                Assert.Equal(GuestAccelerators.Software, accelerator);
                Assert.Empty(rng.KernelDoorbells);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static void Driver(Assembler a)
    {
        var fail = a.CreateLabel();
        PlatformGuest.MapApicWindows(a);
        PlatformGuest.EnableApic(a);
        FindFunction(a, fail);
        MapBar(a);
        EnableMsix(a, fail);

        // MSI-X entry 0: physical destination APIC 0, fixed, vector 0x41; unmasked last, as Linux does.
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset], 0xFEE0_0000);
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 4], 0);
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 8], FirstVector);
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 12], 0);

        // virtio 1.2 §3.1.1: ACKNOWLEDGE | DRIVER, VERSION_1, FEATURES_OK, queue 0, DRIVER_OK.
        a.mov(__byte_ptr[rbx + CommonConfigurationRegister.DeviceStatus], 3);
        a.mov(__dword_ptr[rbx + CommonConfigurationRegister.DriverFeatureSelect], 1);
        a.mov(__dword_ptr[rbx + CommonConfigurationRegister.DriverFeature], 1);
        a.mov(__byte_ptr[rbx + CommonConfigurationRegister.DeviceStatus], 11);
        a.mov(__word_ptr[rbx + CommonConfigurationRegister.QueueSelect], 0);
        a.mov(__word_ptr[rbx + CommonConfigurationRegister.QueueSize], 8);
        a.mov(__word_ptr[rbx + CommonConfigurationRegister.QueueMsixVector], 0);
        a.mov(rax, Descriptors);
        a.mov(__qword_ptr[rbx + CommonConfigurationRegister.QueueDescriptor], rax);
        a.mov(rax, Available);
        a.mov(__qword_ptr[rbx + CommonConfigurationRegister.QueueDriver], rax);
        a.mov(rax, Used);
        a.mov(__qword_ptr[rbx + CommonConfigurationRegister.QueueDevice], rax);
        a.mov(__word_ptr[rbx + CommonConfigurationRegister.QueueEnable], 1);

        // Two device-writable buffers; nothing on the available ring yet.
        for (int index = 0; index < 2; index++)
        {
            ulong descriptor = Descriptors + (ulong)(16 * index);
            a.mov(rax, Buffers + (ulong)(BufferLength * index));
            a.mov(__qword_ptr[descriptor], rax);
            a.mov(__dword_ptr[descriptor + 8], BufferLength);
            a.mov(__word_ptr[descriptor + 12], 2);
            a.mov(__word_ptr[descriptor + 14], 0);
            a.mov(__word_ptr[Available + 4 + (ulong)(2 * index)], index);
        }

        a.mov(__word_ptr[Available], 0);
        a.mov(__word_ptr[Available + 2], 0);
        a.mov(__byte_ptr[rbx + CommonConfigurationRegister.DeviceStatus], 15);

        Request(a, availableIndex: 1, FirstVector, fail);

        // Mask, retarget and unmask the vector: the second completion must arrive on the new vector.
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 12], 1);
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 8], SecondVector);
        a.mov(__dword_ptr[rbx + (int)VirtioPciFunction.MsixTableOffset + 12], 0);
        Request(a, availableIndex: 2, SecondVector, fail);

        // The length the device reported for the second buffer (used ring element 1).
        a.mov(eax, __dword_ptr[Used + 4 + 8 + 4]);
        a.@out(0xF4, al);
        a.hlt();

        a.Label(ref fail);
        a.@out(0xF4, al);
        a.hlt();
    }

    /// <summary>Publishes the next buffer, rings queue 0's doorbell with a 16-bit write, waits for the vector, checks used.idx.</summary>
    private static void Request(Assembler a, int availableIndex, int vector, Label fail)
    {
        a.mov(__word_ptr[Available + 2], availableIndex);
        a.mov(__word_ptr[rbx + (int)VirtioPciFunction.NotifyOffset], 0);
        PlatformGuest.WaitForRequest(a, vector);
        a.mov(al, WrongUsedIndex);
        a.cmp(__word_ptr[Used + 2], availableIndex);
        a.jne(fail);
    }

    /// <summary>Scans bus 0 through CF8/CFC for the virtio-rng; leaves its CONFIG_ADDRESS base in R12D.</summary>
    private static void FindFunction(Assembler a, Label fail)
    {
        var scan = a.CreateLabel();
        var found = a.CreateLabel();
        a.mov(r12d, 0x8000_0000);
        a.Label(ref scan);
        ReadConfiguration(a, 0);
        a.cmp(eax, unchecked((int)VirtioRngId));
        a.je(found);
        a.add(r12d, 0x800);
        a.cmp(r12d, 0x8001_0000);
        a.jb(scan);
        a.mov(al, NotFound);
        a.jmp(fail);
        a.Label(ref found);
    }

    /// <summary>Reads the 64-bit BAR 0 into RBX and maps its 2 MiB page uncached (the boot tables map only the first GiB).</summary>
    private static void MapBar(Assembler a)
    {
        ReadConfiguration(a, 0x14);
        a.mov(ebx, eax);
        a.shl(rbx, 32);
        ReadConfiguration(a, 0x10);
        a.and(eax, unchecked((int)0xFFFF_FFF0));
        a.or(rbx, rax);
        a.mov(rax, rbx);
        a.shr(rax, 21);
        a.and(eax, 511);
        a.mov(rcx, rbx);
        a.mov(rdx, ~0x1F_FFFFUL);
        a.and(rcx, rdx);
        a.or(rcx, 0x9B);
        a.mov(__qword_ptr[(rax * 8) + (int)MmioDirectory], rcx);
    }

    /// <summary>Walks the capability list to MSI-X and sets its Enable bit (bit 15 of Message Control, bit 31 of the dword).</summary>
    private static void EnableMsix(Assembler a, Label fail)
    {
        var walk = a.CreateLabel();
        var found = a.CreateLabel();
        ReadConfiguration(a, 0x34);
        a.and(eax, 0xFC);
        a.mov(esi, eax);
        a.Label(ref walk);
        a.mov(al, NotFound);
        a.test(esi, esi);
        a.jz(fail);
        a.mov(eax, r12d);
        a.or(eax, esi);
        a.mov(dx, 0xCF8);
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.@in(eax, dx);
        a.cmp(al, 0x11);
        a.je(found);
        a.movzx(esi, ah);
        a.and(esi, 0xFC);
        a.jmp(walk);
        a.Label(ref found);
        a.or(eax, unchecked((int)0x8000_0000));
        a.mov(ecx, eax);
        a.mov(eax, r12d);
        a.or(eax, esi);
        a.mov(dx, 0xCF8);
        a.@out(dx, eax);
        a.mov(eax, ecx);
        a.mov(dx, 0xCFC);
        a.@out(dx, eax);
    }

    private static void ReadConfiguration(Assembler a, int offset)
    {
        a.mov(eax, r12d);
        a.or(eax, offset);
        a.mov(dx, 0xCF8);
        a.@out(dx, eax);
        a.mov(dx, 0xCFC);
        a.@in(eax, dx);
    }
}
