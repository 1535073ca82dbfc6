using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Accel.CpuModels;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.X86.Cpu;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.X86.Tests.Guests;

/// <summary>
/// A bare-metal 64-bit guest assembled at test time: identity-mapped first GiB (2 MiB pages), a flat GDT with ring-0 and
/// ring-3 code/data, a TSS, a 32-bit code segment and a few test descriptors, and the code at <see cref="CodeAddress"/>.
/// Every exception vector starts out routed to a recording stub (see <see cref="ExceptionLogAddress"/>); a program can
/// route vectors to its own labels instead. Entered in long mode the way the Linux 64-bit boot protocol enters a kernel.
/// </summary>
public sealed class LongModeGuest : IDisposable
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x1000;
    public const ulong TssAddress = 0x3000;
    public const ulong SecondTssAddress = 0x3100;

    /// <summary>Where the recording stubs leave the last exception: vector, error code, CR2, RIP, count (8 bytes each).</summary>
    public const ulong ExceptionLogAddress = 0x5000;

    /// <summary>When non-zero, the recording stub returns here instead of to the saved RIP (for faults that would repeat).</summary>
    public const ulong ResumeAddressSlot = 0x5028;

    public const ulong StubAddress = 0x6000;
    public const int StubStride = 128;
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
    public const ushort CompatibilityCode = 0x38;
    public const ushort NotPresentData = 0x40;
    public const ushort SecondTssSelector = 0x48;
    public const ushort GdtLimit = 0x57;

    private readonly SoftwareVm vm;
    private readonly AssemblerResult assembled;

    /// <param name="program">The guest's code.</param>
    /// <param name="memorySize">Guest RAM.</param>
    /// <param name="cpu">A <c>--cpu</c> specification (e.g. "Opteron_G1"); null for the default CPU.</param>
    public LongModeGuest(Action<Assembler> program, ulong memorySize = 64UL << 20, string? cpu = null)
        : this((a, _) => program(a), memorySize, cpu)
    {
    }

    public LongModeGuest(Action<Assembler, InterruptRoutes> program, ulong memorySize = 64UL << 20, string? cpu = null)
    {
        Memory = GuestMemory.Create(memorySize);
        Io = new RecordingIo();
        var options = new AcceleratorVmOptions(1, cpu is null ? null : CpuModelSpec.Parse(cpu));
        vm = new SoftwareVm(Memory, options, NullMachineLog.Instance);
        Vcpu = (SoftwareVcpu)vm.CreateVcpu(0, Io);
        Io.OnExit = Vcpu.RequestExit;

        // The firmware state leaves the PIT ticking IRQ 0 every 55 ms, unmasked at the PIC: a tick that lands while a
        // program runs with IF=1 (on a loaded host a test can take that long) would interleave vector 8 with whatever
        // the test expects. Programs that want the PIC program it themselves, masks included.
        vm.Pic.WritePort(0x21, 0xFF);
        vm.Pic.WritePort(0xA1, 0xFF);
        WriteTables();
        WriteRecordingStubs();

        var assembler = new Assembler(64);
        var routes = new InterruptRoutes();
        program(assembler, routes);
        var stream = new MemoryStream();
        assembled = assembler.Assemble(new StreamCodeWriter(stream), CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
        Memory.WriteBytes(new GuestAddress(CodeAddress), stream.ToArray());
        foreach (var (vector, label, dpl) in routes.Routes)
        {
            SetInterruptGate(vector, assembled.GetLabelRIP(label), dpl);
        }

        Vcpu.SetBootState(BootState());
    }

    public GuestMemory Memory { get; }

    public RecordingIo Io { get; }

    public SoftwareVcpu Vcpu { get; }

    public SoftwareVm Vm => vm;

    public Cpu.Cpu Cpu => Vcpu.Cpu;

    /// <summary>Where a label of the program ended up, e.g. to point an IDT gate at a handler.</summary>
    public ulong AddressOf(Label label) => assembled.GetLabelRIP(label);

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
        Gdt = new DescriptorTableState(GdtAddress, GdtLimit),
        Idt = new DescriptorTableState(IdtAddress, 0xFFF),
    };

    private void WriteTables()
    {
        // GDT: null, kernel code64, kernel data, user data (DPL3), user code64 (DPL3), 16-byte busy TSS, kernel code32,
        // a not-present data segment, and a second, available 16-byte TSS.
        ulong[] gdt =
        [
            0,
            0x00AF_9A00_0000_FFFF,
            0x00CF_9200_0000_FFFF,
            0x00CF_F200_0000_FFFF,
            0x00AF_FA00_0000_FFFF,
            0x0000_8B00_0000_0067 | ((TssAddress & 0xFFFFFF) << 16) | (((TssAddress >> 24) & 0xFF) << 56),
            TssAddress >> 32,
            0x00CF_9A00_0000_FFFF,
            0x00CF_1200_0000_FFFF,
            0x0000_8900_0000_0067 | ((SecondTssAddress & 0xFFFFFF) << 16),
            0,
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

    /// <summary>The last exception a recording stub saw.</summary>
    public (ulong Vector, ulong ErrorCode, ulong Cr2, ulong Rip, ulong Count) LastException => (
        Memory.Read<ulong>(new GuestAddress(ExceptionLogAddress)),
        Memory.Read<ulong>(new GuestAddress(ExceptionLogAddress + 8)),
        Memory.Read<ulong>(new GuestAddress(ExceptionLogAddress + 16)),
        Memory.Read<ulong>(new GuestAddress(ExceptionLogAddress + 24)),
        Memory.Read<ulong>(new GuestAddress(ExceptionLogAddress + 32)));

    /// <summary>Replaces the 2 MiB page-directory entry that maps <paramref name="linear"/> (below 1 GiB).</summary>
    public void SetLargePage(ulong linear, ulong entry) =>
        Memory.Write(new GuestAddress(PdAddress + ((linear >> 21) * 8)), entry);

    /// <summary>
    /// One stub per vector 0-31: pop the error code if the vector has one, record vector, error code, CR2, RIP and a count,
    /// then IRETQ to <see cref="ResumeAddressSlot"/> if set (clearing it), else to the saved RIP.
    /// </summary>
    private void WriteRecordingStubs()
    {
        for (int vector = 0; vector < 32; vector++)
        {
            var a = new Assembler(64);
            var noResume = a.CreateLabel();
            bool hasErrorCode = vector is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21 or 29 or 30;
            a.push(rax);
            a.mov(__qword_ptr[ExceptionLogAddress], vector);
            if (hasErrorCode)
            {
                a.mov(rax, __qword_ptr[rsp + 8]);
                a.mov(__qword_ptr[ExceptionLogAddress + 8], rax);
            }
            else
            {
                a.mov(__qword_ptr[ExceptionLogAddress + 8], 0);
            }

            a.mov(rax, cr2);
            a.mov(__qword_ptr[ExceptionLogAddress + 16], rax);
            int frame = hasErrorCode ? 16 : 8;
            a.mov(rax, __qword_ptr[rsp + frame]);
            a.mov(__qword_ptr[ExceptionLogAddress + 24], rax);
            a.inc(__qword_ptr[ExceptionLogAddress + 32]);
            a.mov(rax, __qword_ptr[ResumeAddressSlot]);
            a.test(rax, rax);
            a.jz(noResume);
            a.mov(__qword_ptr[rsp + frame], rax);
            a.mov(__qword_ptr[ResumeAddressSlot], 0);
            a.Label(ref noResume);
            a.pop(rax);
            if (hasErrorCode)
            {
                a.add(rsp, 8);
            }

            a.iretq();
            ulong address = StubAddress + ((ulong)vector * StubStride);
            var stream = new MemoryStream();
            a.Assemble(new StreamCodeWriter(stream), address);
            if (stream.Length > StubStride)
            {
                throw new InvalidOperationException($"recording stub for vector {vector} is {stream.Length} bytes, more than {StubStride}");
            }

            Memory.WriteBytes(new GuestAddress(address), stream.ToArray());
            SetInterruptGate(vector, address);
        }
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
        const ulong directory = 0xC000;
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

    /// <summary>Assembles "mov [ResumeAddressSlot], label": the next recorded exception returns to <paramref name="label"/>.</summary>
    public static void EmitResumeAt(Assembler a, Label label)
    {
        a.lea(rax, __[label]);
        a.mov(__qword_ptr[ResumeAddressSlot], rax);
    }

    /// <summary>Where <see cref="EmitEnterUserMode"/> points the ring-3 stack.</summary>
    public const ulong UserStackTop = 0x70000;

    /// <summary>Assembles an IRETQ to 64-bit ring-3 code at <paramref name="target"/>; IOPL 3 by default so ring 3 may OUT.</summary>
    public static void EmitEnterUserMode(Assembler a, Label target, ulong rflags = 0x3202)
    {
        a.push(UserData);
        a.mov(rax, UserStackTop);
        a.push(rax);
        a.push((int)rflags);
        a.push(UserCode);
        a.lea(rax, __[target]);
        a.push(rax);
        a.iretq();
    }

    /// <summary>Assembles "out 0xF4, al" with the given code: the guest's way to end a test.</summary>
    public static void EmitExit(Assembler a, byte code)
    {
        a.mov(al, code);
        a.@out(0xF4, al);
        a.hlt();
    }
}

/// <summary>Vectors a guest program routes to its own labels; resolved to IDT gates once the program is assembled.</summary>
public sealed class InterruptRoutes
{
    public List<(int Vector, Label Label, int Dpl)> Routes { get; } = [];

    /// <summary>Routes <paramref name="vector"/> to <paramref name="label"/>; call it after <c>a.Label(ref label)</c> (labels are copied).</summary>
    public void Route(int vector, Label label, int dpl = 0) => Routes.Add((vector, label, dpl));
}
