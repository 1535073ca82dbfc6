using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Guests;

/// <summary>
/// A bare-metal 64-bit guest assembled at test time: identity-mapped first GiB (2 MiB pages), a flat GDT with ring-0 and
/// ring-3 code/data and a TSS, an empty IDT the program fills, and the code at <see cref="CodeAddress"/>.
/// Entered in long mode the way the Linux 64-bit boot protocol enters a kernel.
/// </summary>
public sealed class LongModeGuest : IDisposable
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x1000;
    public const ulong TssAddress = 0x3000;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xA000;
    public const ulong PdAddress = 0xB000;
    public const ulong StackTop = 0x80000;
    public const ulong CodeAddress = 0x100000;
    public const ulong DataAddress = 0x200000;

    public const ushort KernelCode = 0x08;
    public const ushort KernelData = 0x10;
    public const ushort UserData = 0x1B;
    public const ushort UserCode = 0x23;
    public const ushort TssSelector = 0x28;

    private readonly SoftwareVm vm;

    public LongModeGuest(Action<Assembler> program, ulong memorySize = 64UL << 20)
    {
        Memory = GuestMemory.Create(memorySize);
        Io = new RecordingIo();
        vm = new SoftwareVm(Memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        Vcpu = (SoftwareVcpu)vm.CreateVcpu(0, Io);
        Io.OnExit = Vcpu.RequestExit;
        WriteTables();

        var assembler = new Assembler(64);
        program(assembler);
        var stream = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(stream), CodeAddress);
        Memory.WriteBytes(new GuestAddress(CodeAddress), stream.ToArray());

        Vcpu.SetBootState(BootState());
    }

    public GuestMemory Memory { get; }

    public RecordingIo Io { get; }

    public SoftwareVcpu Vcpu { get; }

    public SoftwareVm Vm => vm;

    public Cpu.Cpu Cpu => Vcpu.Cpu;

    /// <summary>Runs until the guest writes the exit port (or another lifecycle event), with a safety budget of instructions.</summary>
    public VcpuExit Run(ulong instructionBudget = 50_000_000)
    {
        var exit = Cpu.Run(instructionBudget);
        return exit;
    }

    private static VcpuBootState BootState() => new()
    {
        Rip = CodeAddress,
        Rsp = StackTop,
        Rflags = 0x2,
        Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.Paging | ControlRegister0.ExtensionType
            | ControlRegister0.WriteProtect | ControlRegister0.NumericError),
        Cr3 = Pml4Address,
        Cr4 = (ulong)ControlRegister4.PhysicalAddressExtension,
        Efer = (ulong)(EferBits.LongModeEnable | EferBits.LongModeActive | EferBits.SystemCallEnable | EferBits.NoExecuteEnable),
        Cs = SegmentState.FlatCode64(KernelCode),
        Ds = SegmentState.FlatData(KernelData),
        Es = SegmentState.FlatData(KernelData),
        Fs = SegmentState.FlatData(KernelData),
        Gs = SegmentState.FlatData(KernelData),
        Ss = SegmentState.FlatData(KernelData),
        Tr = SegmentState.BusyTss(TssSelector, TssAddress, 0x67),
        Ldtr = new SegmentState(0, 0, 0, SegmentAttributes.None),
        Gdt = new DescriptorTableState(GdtAddress, 0x37),
        Idt = new DescriptorTableState(IdtAddress, 0xFFF),
    };

    private void WriteTables()
    {
        // GDT: null, kernel code64, kernel data, user data (DPL3), user code64 (DPL3), 16-byte TSS descriptor.
        ulong[] gdt =
        [
            0,
            0x00AF_9A00_0000_FFFF,
            0x00CF_9200_0000_FFFF,
            0x00CF_F200_0000_FFFF,
            0x00AF_FA00_0000_FFFF,
            0x0000_8B00_0000_0067 | ((TssAddress & 0xFFFFFF) << 16) | (((TssAddress >> 24) & 0xFF) << 56),
            TssAddress >> 32,
        ];
        for (int i = 0; i < gdt.Length; i++)
        {
            Memory.Write(new GuestAddress(GdtAddress + ((ulong)i * 8)), gdt[i]);
        }

        Memory.Write(new GuestAddress(Pml4Address), PdptAddress | 0x7);
        Memory.Write(new GuestAddress(PdptAddress), PdAddress | 0x7);
        for (ulong i = 0; i < 512; i++)
        {
            // Present, writable, user, 2 MiB page.
            Memory.Write(new GuestAddress(PdAddress + (i * 8)), (i << 21) | 0x87);
        }

        // TSS RSP0 for ring-3 -> ring-0 transitions.
        Memory.Write(new GuestAddress(TssAddress + 4), StackTop);
    }

    /// <summary>
    /// Runs until the guest writes the exit port or <paramref name="timeout"/> passes (a guest waiting in HLT for an
    /// interrupt that never comes retires no instructions, so an instruction budget alone would never end it).
    /// </summary>
    public VcpuExit RunFor(TimeSpan timeout)
    {
        using var deadline = new Timer(_ => Vcpu.RequestExit(), null, timeout, Timeout.InfiniteTimeSpan);
        return Cpu.Run();
    }

    /// <summary>Maps 3-4 GiB (the MMIO hole: IOAPIC, local APIC) with uncached 2 MiB pages through a fourth PDPT entry.</summary>
    public void MapMmioHole()
    {
        const ulong directory = 0x5000;
        for (ulong i = 0; i < 512; i++)
        {
            // Present, writable, PWT, PCD, 2 MiB page.
            Memory.Write(new GuestAddress(directory + (i * 8)), (0xC000_0000 + (i << 21)) | 0x9B);
        }

        Memory.Write(new GuestAddress(PdptAddress + (3 * 8)), directory | 0x3);
    }

    /// <summary>Writes a 64-bit interrupt gate for <paramref name="vector"/> pointing at <paramref name="handler"/>.</summary>
    public void SetInterruptGate(int vector, ulong handler, int dpl = 0, int ist = 0)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)KernelCode << 16) | ((ulong)ist << 32) | (0x8EUL << 40) | ((ulong)dpl << 45)
            | (((handler >> 16) & 0xFFFF) << 48);
        Memory.Write(new GuestAddress(IdtAddress + ((ulong)vector * 16)), low);
        Memory.Write(new GuestAddress(IdtAddress + ((ulong)vector * 16) + 8), handler >> 32);
    }

    public void Dispose()
    {
        vm.Dispose();
        Memory.Dispose();
    }

    /// <summary>Assembles "out 0xF4, al" with the given code: the guest's way to end a test.</summary>
    public static void EmitExit(Assembler a, byte code)
    {
        a.mov(al, code);
        a.@out(0xF4, al);
        a.hlt();
    }
}
