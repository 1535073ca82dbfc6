using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using Vessel.X86.Tests.Guests;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Modes;

/// <summary>
/// A bare-metal guest for mode-switch tests: code pieces assembled at test time, each at a fixed address with its own
/// bitness (16, 32 or 64), a host-written GDT with code and data segments of every width, and a start in real mode,
/// 32-bit protected mode or long mode. The guest reports progress by writing checkpoint numbers to
/// <see cref="CheckpointPort"/> and values to <see cref="ValuePort"/>, so a failure names the step that broke.
/// </summary>
public sealed class ModeGuest : IDisposable
{
    public const ushort CheckpointPort = 0x80;
    public const ushort ValuePort = 0x84;

    /// <summary>The GDT, its pseudo-descriptor (for LGDT) at <see cref="GdtPointerAddress"/>, and the 256-gate IDT.</summary>
    public const ulong GdtAddress = 0x500;
    public const ulong GdtPointerAddress = 0x4F0;
    public const ulong IdtPointerAddress = 0x4F8;
    public const ulong IdtAddress = 0x800;
    public const ulong StackTop = 0x7000;

    /// <summary>Long-mode identity map of the first 4 GiB (2 MiB pages), the MMIO hole included.</summary>
    public const ulong LongModePml4Address = 0x20000;

    public const ushort Code16 = 0x08;
    public const ushort Data16 = 0x10;
    public const ushort Code32 = 0x18;
    public const ushort Data32 = 0x20;
    public const ushort Code64 = 0x28;
    public const ushort NotPresentData = 0x30;
    public const ushort ReadOnlyData = 0x38;
    public const ushort NotPresentCode = 0x40;
    public const ushort GdtLimit = 0x47;

    /// <summary>Code pieces start here and below 0x20000; data and page tables go elsewhere.</summary>
    public const ulong ScratchAddress = 0x8000;

    private static readonly ulong[] Gdt =
    [
        0,
        0x0000_9A00_0000_FFFF, // 16-bit code, base 0, limit 64 KiB
        0x0000_9200_0000_FFFF, // 16-bit data, base 0, limit 64 KiB (what SDM 3A §9.9.2 wants in the segments before leaving PE)
        0x00CF_9A00_0000_FFFF, // flat 32-bit code
        0x00CF_9200_0000_FFFF, // flat 32-bit data
        0x00AF_9A00_0000_FFFF, // 64-bit code (L=1)
        0x00CF_1200_0000_FFFF, // writable data, not present
        0x00CF_9000_0000_FFFF, // read-only data
        0x00CF_1A00_0000_FFFF, // 32-bit code, not present
    ];

    private readonly SoftwareVm vm;
    private ushort gdtLimit = GdtLimit;

    public ModeGuest(ulong memorySize = 32UL << 20)
    {
        Memory = GuestMemory.Create(memorySize);
        Io = new RecordingIo();
        vm = new SoftwareVm(Memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        Vcpu = (SoftwareVcpu)vm.CreateVcpu(0, Io);
        Io.OnExit = Vcpu.RequestExit;
        for (int i = 0; i < Gdt.Length; i++)
        {
            Memory.Write(new GuestAddress(GdtAddress + ((ulong)i * 8)), Gdt[i]);
        }

        Memory.Write(new GuestAddress(GdtPointerAddress), gdtLimit);
        Memory.Write(new GuestAddress(GdtPointerAddress + 2), (uint)GdtAddress);
        Memory.Write(new GuestAddress(IdtPointerAddress), (ushort)0x7FF);
        Memory.Write(new GuestAddress(IdtPointerAddress + 2), (uint)IdtAddress);
        WriteLongModePageTables();

        // Mask both 8259s: only the local APIC's own vectors should reach these guests.
        vm.Pic.WritePort(0x21, 0xFF);
        vm.Pic.WritePort(0xA1, 0xFF);
    }

    public GuestMemory Memory { get; }

    public RecordingIo Io { get; }

    public SoftwareVcpu Vcpu { get; }

    public Cpu.Cpu Cpu => Vcpu.Cpu;

    /// <summary>The checkpoint numbers the guest wrote, in order.</summary>
    public List<uint> Checkpoints => Io.PortWrites.Where(w => w.Port == CheckpointPort).Select(w => w.Value).ToList();

    /// <summary>The values the guest reported, in order.</summary>
    public List<uint> Values => Io.PortWrites.Where(w => w.Port == ValuePort).Select(w => w.Value).ToList();

    /// <summary>
    /// Assembles <paramref name="program"/> as <paramref name="bitness"/>-bit code into guest RAM at <paramref name="address"/>,
    /// for an instruction pointer of <paramref name="origin"/> there (the offset in CS; <paramref name="address"/> when CS is flat).
    /// </summary>
    /// <returns>Where each label of the program ended up, as an offset in its code segment.</returns>
    public Func<Label, ulong> Load(int bitness, ulong address, Action<Assembler> program, ulong? origin = null)
    {
        var assembler = new Assembler(bitness);
        program(assembler);
        var stream = new MemoryStream();
        var result = assembler.Assemble(new StreamCodeWriter(stream), origin ?? address, BlockEncoderOptions.ReturnNewInstructionOffsets);
        Memory.WriteBytes(new GuestAddress(address), stream.ToArray());
        return label => result.GetLabelRIP(label);
    }

    /// <summary>Starts in real mode at <paramref name="segment"/>:<paramref name="offset"/>, the state RESET leaves but for CS:IP.</summary>
    public void StartInRealMode(ushort segment, ushort offset)
    {
        var state = VcpuBootState.PowerOnReset();
        state.Cs = SegmentState.RealMode(segment, code: true);
        state.Rip = offset;
        state.Rsp = StackTop;
        Vcpu.SetBootState(state);
    }

    /// <summary>Starts in flat 32-bit protected mode without paging, with this guest's GDT and IDT loaded.</summary>
    public void StartInProtectedMode(ulong entry)
    {
        Vcpu.SetBootState(new VcpuBootState
        {
            Rip = entry,
            Rsp = StackTop,
            Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.ExtensionType),
            Cs = SegmentState.FlatCode32(Code32),
            Ds = SegmentState.FlatData(Data32),
            Es = SegmentState.FlatData(Data32),
            Fs = SegmentState.FlatData(Data32),
            Gs = SegmentState.FlatData(Data32),
            Ss = SegmentState.FlatData(Data32),
            Tr = new SegmentState(0, 0, 0xFFFF, SegmentAttributes.Present | (SegmentAttributes)11),
            Ldtr = new SegmentState(0, 0, 0, SegmentAttributes.None),
            Gdt = new DescriptorTableState(GdtAddress, gdtLimit),
            Idt = new DescriptorTableState(IdtAddress, 0x7FF),
        });
    }

    /// <summary>Starts in 64-bit mode with the first 4 GiB identity-mapped; the IDT holds 16-byte gates from <see cref="IdtAddress"/>.</summary>
    public void StartInLongMode(ulong entry)
    {
        Vcpu.SetBootState(new VcpuBootState
        {
            Rip = entry,
            Rsp = StackTop,
            Cr0 = (ulong)(ControlRegister0.ProtectionEnable | ControlRegister0.Paging | ControlRegister0.ExtensionType),
            Cr3 = LongModePml4Address,
            Cr4 = (ulong)ControlRegister4.PhysicalAddressExtension,
            Efer = (ulong)(EferBits.LongModeEnable | EferBits.LongModeActive),
            Cs = SegmentState.FlatCode64(Code64),
            Ds = SegmentState.FlatData(Data32),
            Es = SegmentState.FlatData(Data32),
            Fs = SegmentState.FlatData(Data32),
            Gs = SegmentState.FlatData(Data32),
            Ss = SegmentState.FlatData(Data32),
            Tr = new SegmentState(0, 0, 0xFFFF, SegmentAttributes.Present | (SegmentAttributes)11),
            Ldtr = new SegmentState(0, 0, 0, SegmentAttributes.None),
            Gdt = new DescriptorTableState(GdtAddress, gdtLimit),
            Idt = new DescriptorTableState(IdtAddress, 0xFFF),
        });
    }

    /// <summary>
    /// Adds a descriptor past the fixed ones (selectors above <see cref="GdtLimit"/>, below the IDT) and grows the GDT
    /// limit to hold it, both in <see cref="GdtPointerAddress"/> and for the Start methods; call before starting.
    /// </summary>
    public void SetDescriptor(ushort selector, ulong descriptor)
    {
        ulong offset = (ulong)(selector & 0xFFF8);
        if (offset <= GdtLimit || GdtAddress + offset + 8 > IdtAddress)
        {
            throw new ArgumentOutOfRangeException(nameof(selector), $"selector 0x{selector:X} must lie between the fixed descriptors and the IDT");
        }

        Memory.Write(new GuestAddress(GdtAddress + offset), descriptor);
        gdtLimit = (ushort)Math.Max(gdtLimit, offset + 7);
        Memory.Write(new GuestAddress(GdtPointerAddress), gdtLimit);
    }

    /// <summary>
    /// A code or data descriptor (SDM 3A §3.4.5): base, a 20-bit limit, the access byte (P, DPL, S, type) and the
    /// flags nibble (G, D/B, L, AVL).
    /// </summary>
    public static ulong Descriptor(uint baseAddress, uint limit, byte access, byte flags) =>
        (limit & 0xFFFFUL) | ((baseAddress & 0xFFFFFFUL) << 16) | ((ulong)access << 40)
        | (((ulong)(limit >> 16) & 0xF) << 48) | ((ulong)(flags & 0xF) << 52) | ((ulong)(baseAddress >> 24) << 56);

    /// <summary>Writes a 32-bit interrupt gate (type 0xE, DPL 0) to a handler in <see cref="Code32"/>.</summary>
    public void SetProtectedModeGate(int vector, ulong handler)
    {
        ulong gate = (handler & 0xFFFF) | ((ulong)Code32 << 16) | (0x8EUL << 40) | (((handler >> 16) & 0xFFFF) << 48);
        Memory.Write(new GuestAddress(IdtAddress + ((ulong)vector * 8)), gate);
    }

    /// <summary>Writes a 64-bit interrupt gate to a handler in <see cref="Code64"/>.</summary>
    public void SetLongModeGate(int vector, ulong handler)
    {
        ulong low = (handler & 0xFFFF) | ((ulong)Code64 << 16) | (0x8EUL << 40) | (((handler >> 16) & 0xFFFF) << 48);
        Memory.Write(new GuestAddress(IdtAddress + ((ulong)vector * 16)), low);
        Memory.Write(new GuestAddress(IdtAddress + ((ulong)vector * 16) + 8), handler >> 32);
    }

    /// <summary>Writes a real-mode IVT entry (offset, then segment) for <paramref name="vector"/>.</summary>
    public void SetRealModeVector(int vector, ushort segment, ushort offset)
    {
        Memory.Write(new GuestAddress((ulong)vector * 4), offset);
        Memory.Write(new GuestAddress(((ulong)vector * 4) + 2), segment);
    }

    /// <summary>Runs until the guest writes the exit port, or until <paramref name="timeout"/> passes (a guest stuck in HLT retires nothing).</summary>
    public VcpuExit RunFor(TimeSpan timeout)
    {
        using var deadline = new Timer(_ => Vcpu.RequestExit(), null, timeout, Timeout.InfiniteTimeSpan);
        return Cpu.Run(200_000_000);
    }

    /// <summary>Assembles "out CheckpointPort, eax" with <paramref name="checkpoint"/> (clobbers EAX; any bitness).</summary>
    public static void EmitCheckpoint(Assembler a, uint checkpoint)
    {
        a.mov(eax, checkpoint);
        a.@out((byte)CheckpointPort, eax);
    }

    /// <summary>Assembles "out ValuePort, eax" after moving <paramref name="value"/> into EAX unless it is EAX.</summary>
    public static void EmitReport(Assembler a, AssemblerRegister32 value)
    {
        if (value != eax)
        {
            a.mov(eax, value);
        }

        a.@out((byte)ValuePort, eax);
    }

    /// <summary>Assembles "out 0xF4, al" with <paramref name="code"/>, then HLT: the guest's way to end a test.</summary>
    public static void EmitExit(Assembler a, byte code)
    {
        a.mov(al, code);
        a.@out((byte)RecordingIo.ExitPort, al);
        a.hlt();
    }

    public void Dispose()
    {
        vm.Dispose();
        Memory.Dispose();
    }

    private void WriteLongModePageTables()
    {
        const ulong pdpt = LongModePml4Address + 0x1000;
        const ulong directories = LongModePml4Address + 0x2000;
        Memory.Write(new GuestAddress(LongModePml4Address), pdpt | 0x3);
        for (ulong i = 0; i < 4; i++)
        {
            Memory.Write(new GuestAddress(pdpt + (i * 8)), (directories + (i * 0x1000)) | 0x3);
        }

        for (ulong i = 0; i < 4 * 512; i++)
        {
            // Present, writable, 2 MiB page; the last GiB (MMIO: IOAPIC, local APIC) uncached.
            ulong flags = i >= 3 * 512 ? 0x9BUL : 0x83UL;
            Memory.Write(new GuestAddress(directories + (i * 8)), (i << 21) | flags);
        }
    }
}
