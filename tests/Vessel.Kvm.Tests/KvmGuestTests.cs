using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm.Tests.Infrastructure;

namespace Vessel.Kvm.Tests;

/// <summary>
/// Tiny guests run under real KVM. They end by writing port 0xF4 (the debug-exit port), which the test's I/O handler
/// turns into RequestExit(), as the machine's debug-exit device does. Skipped, with the reason, on hosts without KVM.
/// </summary>
public sealed class KvmGuestTests
{
    private const ushort DebugExitPort = 0xF4;
    private const ulong CodeAddress = 0x2000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [RequiresKvmFact]
    public void Real_mode_guest_writes_a_serial_byte_and_the_debug_exit_port()
    {
        byte[] code =
        [
            0xBA, 0xF8, 0x03, // mov dx, 0x3f8
            0xB0, 0x4B,       // mov al, 'K'
            0xEE,             // out dx, al
            0xB0, 0x07,       // mov al, 7
            0xE6, 0xF4,       // out 0xf4, al
            0xEB, 0xFE,       // jmp $
        ];

        var (exit, io) = RunGuest(2 << 20, code, RealModeAt(CodeAddress));

        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
        Assert.Equal(("out", 0x3F8UL), (io.Accesses[0].Kind, io.Accesses[0].Address));
        Assert.Equal(new byte[] { (byte)'K' }, io.Accesses[0].Data);
        Assert.Equal(new byte[] { 7 }, io.Accesses[1].Data);
    }

    [RequiresKvmFact]
    public void Rep_outsb_reaches_the_device_once_per_byte()
    {
        byte[] code =
        [
            0xBE, 0x00, 0x30, // mov si, 0x3000
            0xB9, 0x03, 0x00, // mov cx, 3
            0xBA, 0xF8, 0x03, // mov dx, 0x3f8
            0xFC,             // cld
            0xF3, 0x6E,       // rep outsb
            0xE6, 0xF4,       // out 0xf4, al
            0xEB, 0xFE,       // jmp $
        ];

        var (exit, io) = RunGuest(2 << 20, code, RealModeAt(CodeAddress), memory => memory.WriteBytes(new GuestAddress(0x3000), "abc"u8));

        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
        var serial = io.Accesses.Where(a => a.Address == 0x3F8).Select(a => a.Data.Single()).ToArray();
        Assert.Equal("abc"u8.ToArray(), serial);
    }

    [RequiresKvmFact]
    public void Port_read_and_mmio_above_ram_go_through_the_io_callbacks()
    {
        byte[] code =
        [
            0xE4, 0x71,             // in al, 0x71          -> 0xA0
            0xBB, 0xFF, 0xFF,       // mov bx, 0xffff
            0x8E, 0xC3,             // mov es, bx
            0x26, 0xA2, 0x10, 0x00, // mov [es:0x10], al    -> MMIO write at 0x100000
            0x26, 0xA0, 0x20, 0x00, // mov al, [es:0x20]    -> MMIO read at 0x100010
            0xE6, 0xF4,             // out 0xf4, al
            0xEB, 0xFE,             // jmp $
        ];

        var (exit, io) = RunGuest(1 << 20, code, RealModeAt(CodeAddress));

        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
        Assert.Equal(("in", 0x71UL), (io.Accesses[0].Kind, io.Accesses[0].Address));
        Assert.Equal(("mmio-write", 0x10_0000UL), (io.Accesses[1].Kind, io.Accesses[1].Address));
        Assert.Equal(new byte[] { 0xA0 }, io.Accesses[1].Data);
        Assert.Equal(("mmio-read", 0x10_0010UL), (io.Accesses[2].Kind, io.Accesses[2].Address));
        Assert.Equal(new byte[] { 0xA1 }, io.Accesses[3].Data);
    }

    [RequiresKvmFact]
    public void Guest_enters_in_64_bit_mode_as_the_linux_boot_protocol_asks()
    {
        byte[] code =
        [
            0xB8, 0x2A, 0x00, 0x00, 0x00, // mov eax, 42
            0xE6, 0xF4,                   // out 0xf4, al
            0xEB, 0xFE,                   // jmp $
        ];
        var state = new VcpuBootState
        {
            Rip = CodeAddress,
            Rsp = 0x8000,
            Cr0 = 0x8000_0011,
            Cr3 = 0x9000,
            Cr4 = 0x20,
            Efer = 0x500,
            Cs = SegmentState.FlatCode64(0x08),
            Ds = SegmentState.FlatData(0x10),
            Es = SegmentState.FlatData(0x10),
            Fs = SegmentState.FlatData(0x10),
            Gs = SegmentState.FlatData(0x10),
            Ss = SegmentState.FlatData(0x10),
            Tr = SegmentState.BusyTss(0x18, 0, 0x67),
            Gdt = new DescriptorTableState(0x500, 0x1F),
        };

        var (exit, io) = RunGuest(4 << 20, code, state, memory =>
        {
            // Identity-map the first 1 GiB with 2 MiB pages: PML4 -> PDPT -> PD (present, writable, PS on the PD entries).
            memory.Write(new GuestAddress(0x9000), 0xA000UL | 3);
            memory.Write(new GuestAddress(0xA000), 0xB000UL | 3);
            for (ulong i = 0; i < 512; i++)
            {
                memory.Write(new GuestAddress(0xB000 + (i * 8)), (i << 21) | 0x83);
            }
        });

        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
        Assert.Equal(new byte[] { 42 }, io.Accesses.Single(a => a.Address == DebugExitPort).Data);
    }

    [RequiresKvmFact]
    public void Guest_enters_in_32_bit_protected_mode_as_multiboot_asks()
    {
        byte[] code =
        [
            0x3D, 0x02, 0xB0, 0xAD, 0x2B, // cmp eax, 0x2badb002
            0x0F, 0x94, 0xC0,             // sete al
            0xE6, 0xF4,                   // out 0xf4, al
            0xEB, 0xFE,                   // jmp $
        ];
        VcpuBootState state = ProtectedMode32At(CodeAddress);
        state.Rax = 0x2BAD_B002;

        var (exit, io) = RunGuest(2 << 20, code, state);

        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
        Assert.Equal(new byte[] { 1 }, io.Accesses.Single(a => a.Address == DebugExitPort).Data);
    }

    [RequiresKvmFact]
    public void Triple_fault_ends_the_run_as_shutdown()
    {
        byte[] code =
        [
            0x0F, 0x0B, // ud2: #UD, and with an empty IDT #GP, #DF, then shutdown
        ];
        VcpuBootState state = ProtectedMode32At(CodeAddress);
        state.Idt = new DescriptorTableState(0, 0);

        var (exit, _) = RunGuest(2 << 20, code, state);

        Assert.True(exit.Reason == VcpuExitReason.Shutdown, $"{exit.Reason}: {exit.Detail}");
    }

    [RequiresKvmFact]
    public void Request_exit_from_another_thread_stops_a_spinning_guest()
    {
        byte[] code =
        [
            0xE6, 0x80, // out 0x80, al   (tells the test the guest runs)
            0xEB, 0xFE, // jmp $
        ];
        using var memory = GuestMemory.Create(2 << 20);
        memory.WriteBytes(new GuestAddress(CodeAddress), code);
        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var running = new ManualResetEventSlim();
        var io = new RecordingVcpuIo { OnPortWrite = (port, _) => running.Set() };
        using var vcpu = vm.CreateVcpu(0, io);
        vcpu.SetBootState(RealModeAt(CodeAddress));

        VcpuExit exit = default;
        var thread = new Thread(() => exit = vcpu.Run());
        thread.Start();
        Assert.True(running.Wait(Timeout));

        vcpu.RequestExit();

        Assert.True(thread.Join(Timeout), "Run() did not return after RequestExit().");
        Assert.Equal(VcpuExitReason.ExitRequested, exit.Reason);
    }

    [RequiresKvmFact]
    public void Irq_lines_and_msis_reach_the_in_kernel_irqchip()
    {
        using var memory = GuestMemory.Create(2 << 20);
        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);

        using var vcpu = vm.CreateVcpu(0, new RecordingVcpuIo());
        vcpu.SetBootState(RealModeAt(CodeAddress));

        vm.SetIrqLine(4, true);
        vm.SetIrqLine(4, false);
        vm.SendMsi(0xFEE0_0000, 0x30);

        // An MSI no local APIC accepts is the guest's misconfiguration, not a host error.
        vm.SendMsi(0xFEE0_0000 | (0x7F << 12), 0x30);
    }

    private static VcpuBootState ProtectedMode32At(ulong address) => new()
    {
        Rip = address,
        Cr0 = 0x11,
        Cs = SegmentState.FlatCode32(0x08),
        Ds = SegmentState.FlatData(0x10),
        Es = SegmentState.FlatData(0x10),
        Fs = SegmentState.FlatData(0x10),
        Gs = SegmentState.FlatData(0x10),
        Ss = SegmentState.FlatData(0x10),
        Gdt = new DescriptorTableState(0x500, 0x1F),
    };

    private static VcpuBootState RealModeAt(ulong address)
    {
        VcpuBootState state = VcpuBootState.PowerOnReset();
        state.Cs = SegmentState.RealMode(0, code: true);
        state.Rip = address;
        state.Rsp = 0x7000;
        return state;
    }

    private static (VcpuExit Exit, RecordingVcpuIo Io) RunGuest(ulong memorySize, byte[] code, VcpuBootState state, Action<GuestMemory>? prepare = null)
    {
        using var memory = GuestMemory.Create(memorySize);
        memory.WriteBytes(new GuestAddress(CodeAddress), code);
        prepare?.Invoke(memory);

        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        var io = new RecordingVcpuIo();
        using var vcpu = vm.CreateVcpu(0, io);
        io.OnPortWrite = (port, _) =>
        {
            if (port == DebugExitPort)
            {
                vcpu.RequestExit();
            }
        };
        vcpu.SetBootState(state);

        VcpuExit exit = default;
        var thread = new Thread(() => exit = vcpu.Run());
        thread.Start();
        if (!thread.Join(Timeout))
        {
            vcpu.RequestExit();
            thread.Join(Timeout);
            Assert.Fail($"The guest did not finish within {Timeout.TotalSeconds} s.");
        }

        return (exit, io);
    }
}
