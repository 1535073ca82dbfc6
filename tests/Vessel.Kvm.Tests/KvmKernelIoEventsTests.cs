using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Kvm.Tests.Infrastructure;

namespace Vessel.Kvm.Tests;

/// <summary>
/// Doorbells and MSIs that stay inside the kernel: guests under real KVM write a registered MMIO address (an ioeventfd) and
/// halt until an irqfd-backed MSI route interrupts them. Skipped, with the reason, where KVM or these capabilities are missing.
/// </summary>
public sealed class KvmKernelIoEventsTests
{
    private const ushort DebugExitPort = 0xF4;
    private const ushort ReadyPort = 0x80;
    private const ulong CodeAddress = 0x2000;
    private const ulong DoorbellAddress = 0x10_0000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Real mode, ES = 0xFFFF so [es:0x10] is 0x100000, just above 1 MiB of RAM: three 2-byte writes there, a 1-byte write
    /// at 0x100010 (an ordinary MMIO exit, to show exits still happen), a 1-byte write at 0x100000 (a width the ioeventfd does
    /// not match), then the debug-exit port.
    /// </summary>
    private static readonly byte[] DoorbellGuest =
    [
        0xBB, 0xFF, 0xFF,       // mov bx, 0xffff
        0x8E, 0xC3,             // mov es, bx
        0xB8, 0x34, 0x12,       // mov ax, 0x1234
        0x26, 0xA3, 0x10, 0x00, // mov [es:0x10], ax    2 bytes at 0x100000
        0x26, 0xA3, 0x10, 0x00, // mov [es:0x10], ax
        0x26, 0xA3, 0x10, 0x00, // mov [es:0x10], ax
        0x26, 0xA2, 0x20, 0x00, // mov [es:0x20], al    1 byte at 0x100010
        0x26, 0xA2, 0x10, 0x00, // mov [es:0x10], al    1 byte at 0x100000
        0xE6, 0xF4,             // out 0xf4, al
        0xEB, 0xFE,             // jmp $
    ];

    [RequiresKvmFact]
    public void The_vm_offers_kernel_io_events_exactly_when_the_host_has_the_capabilities()
    {
        using var memory = GuestMemory.Create(1 << 20);
        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var host = KvmHost.Open();
        bool hostHasAll = KvmVm.KernelIoEventCapabilities.All(c => host.CheckExtension(c.Capability) > 0);

        var events = Assert.IsAssignableFrom<IKernelIoEvents>(vm);

        Assert.Equal(hostHasAll, events.IsAvailable(out string reason));
        Assert.Equal(hostHasAll, reason.Length == 0);
    }

    [RequiresKernelIoEventsFact]
    public void A_guest_write_to_a_registered_address_signals_the_eventfd_without_an_mmio_exit()
    {
        using var memory = GuestMemory.Create(1 << 20);
        memory.WriteBytes(new GuestAddress(CodeAddress), DoorbellGuest);
        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var doorbell = ((IKernelIoEvents)vm).RegisterMmioWrite(new GuestAddress(DoorbellAddress), 2);

        var io = RunToDebugExit(vm, RealModeAt(CodeAddress));

        Assert.Equal(3UL, doorbell.Drain());
        Assert.Equal(0UL, doorbell.Drain());
        var writes = io.Accesses.Where(a => a.Kind == "mmio-write").Select(a => (a.Address, a.Data.Length)).ToArray();
        Assert.Equal([(0x10_0010UL, 1), (DoorbellAddress, 1)], writes);
    }

    [RequiresKernelIoEventsFact]
    public void Once_the_event_is_disposed_the_same_writes_exit_to_userspace()
    {
        using var memory = GuestMemory.Create(1 << 20);
        memory.WriteBytes(new GuestAddress(CodeAddress), DoorbellGuest);
        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        var doorbell = ((IKernelIoEvents)vm).RegisterMmioWrite(new GuestAddress(DoorbellAddress), 2);
        doorbell.Dispose();

        var io = RunToDebugExit(vm, RealModeAt(CodeAddress));

        Assert.Equal(0UL, doorbell.Drain());
        Assert.Equal(3, io.Accesses.Count(a => a.Kind == "mmio-write" && a.Address == DoorbellAddress && a.Data.Length == 2));
    }

    [RequiresKernelIoEventsFact]
    public void An_irqfd_backed_msi_route_interrupts_a_halted_guest()
    {
        // 32-bit protected mode with the local APIC software-enabled; the guest says it is ready on port 0x80, then sleeps in
        // sti; hlt (the STI shadow makes the pair atomic). Only the handler for vector 0x40 reaches the debug-exit port; it
        // does not return, because PVM's instruction emulator cannot IRET outside real mode.
        const byte Vector = 0x40;
        const ulong IdtAddress = 0x1000;
        const ulong HandlerAddress = 0x3000;
        byte[] code =
        [
            0xC7, 0x05, 0xF0, 0x00, 0xE0, 0xFE, 0xFF, 0x01, 0x00, 0x00, // mov dword [0xFEE000F0], 0x1FF   (SVR: APIC on)
            0xE6, 0x80,                                                 // out 0x80, al                    (ready)
            0xFB,                                                       // wait: sti
            0xF4,                                                       // hlt
            0xFA,                                                       // cli
            0xEB, 0xFB,                                                 // jmp wait
        ];
        byte[] handler =
        [
            0xB0, 0x5A,                                                 // mov al, 0x5a
            0xE6, 0xF4,                                                 // out 0xf4, al
            0xEB, 0xFE,                                                 // jmp $
        ];
        using var memory = GuestMemory.Create(2 << 20);
        memory.WriteBytes(new GuestAddress(CodeAddress), code);
        memory.WriteBytes(new GuestAddress(HandlerAddress), handler);
        memory.Write(new GuestAddress(0x508), 0x00CF_9A00_0000_FFFFUL); // GDT 0x08: flat 32-bit code (IRET reloads CS)
        memory.Write(new GuestAddress(0x510), 0x00CF_9200_0000_FFFFUL); // GDT 0x10: flat data

        // A 32-bit interrupt gate: offset 15:0, selector 0x08, type 0x8E (present, DPL 0), offset 31:16.
        memory.Write(new GuestAddress(IdtAddress + (Vector * 8UL)), (HandlerAddress & 0xFFFF) | (0x08UL << 16) | (0x8E00UL << 32) | ((HandlerAddress >> 16) << 48));
        VcpuBootState state = ProtectedMode32At(CodeAddress);
        state.Idt = new DescriptorTableState(IdtAddress, 0x7FF);
        state.Rsp = 0x8000;

        using var vm = new KvmAccelerator().CreateVm(memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        using var route = ((IKernelIoEvents)vm).CreateMsiRoute();
        Assert.NotNull(route);
        Assert.True(route.Gsi >= KvmGsiRoutingTable.FirstMsiGsi, $"GSI {route.Gsi} collides with the IOAPIC's pins.");

        // Physical destination APIC 0, fixed delivery, edge, vector 0x40 (Intel SDM 3A §11.11).
        Assert.True(route.SetMessage(0xFEE0_0000, Vector));

        using var ready = new ManualResetEventSlim();
        var io = RunToDebugExit(vm, state, ready, onReady: route.Signal);

        Assert.Equal(new byte[] { 0x5A }, io.Accesses.Last(a => a.Address == DebugExitPort).Data);
    }

    private static RecordingVcpuIo RunToDebugExit(IAcceleratorVm vm, VcpuBootState state, ManualResetEventSlim? ready = null, Action? onReady = null)
    {
        var io = new RecordingVcpuIo();
        using var vcpu = vm.CreateVcpu(0, io);
        io.OnPortWrite = (port, _) =>
        {
            if (port == DebugExitPort)
            {
                vcpu.RequestExit();
            }
            else if (port == ReadyPort)
            {
                ready?.Set();
            }
        };
        vcpu.SetBootState(state);

        VcpuExit exit = default;
        var thread = new Thread(() => exit = vcpu.Run());
        thread.Start();
        if (ready != null && onReady != null)
        {
            bool guestReady = ready.Wait(Timeout);
            if (guestReady)
            {
                // From the test's thread, as the I/O thread would: the vCPU is halted or about to halt.
                onReady();
            }
        }

        if (!thread.Join(Timeout))
        {
            vcpu.RequestExit();
            thread.Join(Timeout);
            Assert.Fail($"The guest did not finish within {Timeout.TotalSeconds} s.");
        }

        Assert.True(exit.Reason == VcpuExitReason.ExitRequested, $"{exit.Reason}: {exit.Detail}");
        return io;
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
}
