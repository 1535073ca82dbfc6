using Iced.Intel;
using Vessel.Core.Accel;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Kvm.Tests.Snapshots;

/// <summary>
/// One vCPU on either accelerator running a bare-metal 64-bit guest that counts in R13 and at <see cref="CountAddress"/>,
/// checking before each step that the two agree, while a periodic local APIC timer (vector 0x41, about 1 ms) counts
/// ticks in R12 and at <see cref="TicksAddress"/>. It exits through port 0xF4 with <see cref="Finished"/> after
/// <see cref="FinalTicks"/> ticks, or <see cref="CountMismatch"/> when a restore lost a count.
/// </summary>
internal sealed class SnapshotMachine : IDisposable
{
    public const ulong GdtAddress = 0x500;
    public const ulong IdtAddress = 0x1000;
    public const ulong Pml4Address = 0x9000;
    public const ulong PdptAddress = 0xA000;
    public const ulong PdAddress = 0xB000;
    public const ulong MmioPdAddress = 0xC000;
    public const ulong StackTop = 0x80000;
    public const ulong CodeAddress = 0x100000;
    public const ulong CountAddress = 0x200000;
    public const ulong TicksAddress = 0x200008;
    public const ulong StoredPage = 0x205000;
    public const int FinalTicks = 12;
    public const byte Finished = 0x55;
    public const byte CountMismatch = 0xEE;
    public const byte ExitPort = 0xF4;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private Thread? thread;
    private VcpuExit exit;

    /// <param name="memory">Guest RAM to run on, already holding the guest (a copy of another machine's), or null for a fresh one.</param>
    public SnapshotMachine(IAccelerator accelerator, GuestMemory? memory = null, Func<Assembler, Label?>? program = null)
    {
        Memory = memory ?? GuestMemory.Create(64UL << 20);
        if (memory is null)
        {
            WriteGuest(Memory, program ?? CountingProgram);
        }

        Vm = accelerator.CreateVm(Memory, new AcceleratorVmOptions(1), NullMachineLog.Instance);
        Io = new RecordingVcpuIo();
        Vcpu = Vm.CreateVcpu(0, Io);
        Io.OnPortWrite = (port, _) =>
        {
            if (port == ExitPort)
            {
                Vcpu.RequestExit();
            }
        };
        Vcpu.SetBootState(BootState());
    }

    public GuestMemory Memory { get; }

    public IAcceleratorVm Vm { get; }

    public IVcpu Vcpu { get; }

    public RecordingVcpuIo Io { get; }

    public ulong Count => Memory.Read<ulong>(new GuestAddress(CountAddress));

    public ulong Ticks => Memory.Read<ulong>(new GuestAddress(TicksAddress));

    /// <summary>The values the guest wrote to the exit port, in order.</summary>
    public byte[] ExitCodes => [.. Io.Accesses.Where(a => a.Kind == "out" && a.Address == ExitPort).Select(a => a.Data[0])];

    /// <summary>Starts the vCPU on its own thread.</summary>
    public void Start()
    {
        thread = new Thread(() => exit = Vcpu.Run()) { IsBackground = true };
        thread.Start();
    }

    /// <summary>Waits for the vCPU to leave Run (exit port, or RequestExit), asking it to after the timeout.</summary>
    public VcpuExit Join()
    {
        if (!thread!.Join(Timeout))
        {
            Vcpu.RequestExit();
            Assert.True(thread.Join(Timeout), "the vCPU did not stop after RequestExit");
        }

        thread = null;
        return exit;
    }

    /// <summary>Runs until the guest has seen <paramref name="ticks"/> timer interrupts, then parks the vCPU.</summary>
    public void RunUntilTicks(ulong ticks)
    {
        Start();
        var deadline = DateTime.UtcNow + Timeout;
        while (Ticks < ticks && DateTime.UtcNow < deadline && thread!.IsAlive)
        {
            Thread.Sleep(1);
        }

        Vcpu.RequestExit();
        var stopped = Join();
        Assert.True(Ticks >= ticks, $"the guest saw {Ticks} ticks in {Timeout.TotalSeconds} s; the vCPU stopped with {stopped.Reason} {stopped.Detail}");
    }

    public byte[] Save()
    {
        var writer = new StateWriter();
        Vm.SaveState(writer);
        return writer.ToArray();
    }

    /// <summary>A copy of guest RAM, as a snapshot's memory file holds it.</summary>
    public GuestMemory CopyMemory()
    {
        var copy = GuestMemory.Create(Memory.TotalSize);
        const int chunk = 1 << 20;
        for (ulong address = 0; address < Memory.TotalSize; address += chunk)
        {
            copy.WriteBytes(new GuestAddress(address), Memory.GetSpan(new GuestAddress(address), chunk));
        }

        return copy;
    }

    public void Dispose()
    {
        if (thread is not null)
        {
            Vcpu.RequestExit();
            thread.Join(Timeout);
        }

        Vcpu.Dispose();
        Vm.Dispose();
        Memory.Dispose();
    }

    /// <returns>The timer handler, for the IDT gate of vector 0x41.</returns>
    public static Label? CountingProgram(Assembler a)
    {
        var handler = a.CreateLabel();
        var loop = a.CreateLabel();
        var fail = a.CreateLabel();

        // Mask the 8259s: the software accelerator leaves the PIT ticking IRQ 0 as PC firmware does, and this IDT has
        // no gate for it.
        a.mov(al, 0xFF);
        a.@out(0x21, al);
        a.@out(0xA1, al);
        a.xor(r12d, r12d);
        a.xor(r13d, r13d);
        a.mov(rsi, CountAddress);
        a.mov(__qword_ptr[rsi], 0);
        a.mov(__qword_ptr[rsi + 8], 0);
        a.mov(rdi, 0xFEE0_0000UL);
        a.mov(__dword_ptr[rdi + 0xF0], 0x1FF);
        a.mov(__dword_ptr[rdi + 0x3E0], 0xB);
        a.mov(__dword_ptr[rdi + 0x320], 0x20041);
        a.mov(__dword_ptr[rdi + 0x380], 1_000_000);
        a.sti();
        a.Label(ref loop);
        a.mov(rax, __qword_ptr[rsi]);
        a.cmp(rax, r13);
        a.jne(fail);
        a.inc(r13);
        a.mov(__qword_ptr[rsi], r13);
        a.cmp(r12d, FinalTicks);
        a.jb(loop);
        a.mov(al, Finished);
        a.@out(ExitPort, al);
        a.hlt();
        a.Label(ref fail);
        a.mov(al, CountMismatch);
        a.@out(ExitPort, al);
        a.hlt();

        a.Label(ref handler);
        a.inc(r12d);
        a.mov(__qword_ptr[rsi + 8], r12);
        a.mov(__dword_ptr[rdi + 0xB0], 0);
        a.iretq();
        return handler;
    }

    private static void WriteGuest(GuestMemory memory, Func<Assembler, Label?> program)
    {
        // GDT: null, 64-bit code 0x08, data 0x10, a busy 64-bit TSS at 0x18 (16 bytes) over 0x3000.
        ulong[] gdt = [0, 0x00AF_9B00_0000_FFFF, 0x00CF_9300_0000_FFFF, 0x0000_8B00_3000_0067, 0];
        for (int i = 0; i < gdt.Length; i++)
        {
            memory.Write(new GuestAddress(GdtAddress + ((ulong)i * 8)), gdt[i]);
        }

        // Page tables with accessed and dirty bits already set, so neither accelerator writes them (a dirty-log test
        // wants to see only the guest's own stores): the first GiB and 3-4 GiB (local APIC) in 2 MiB pages.
        memory.Write(new GuestAddress(Pml4Address), PdptAddress | 0x27);
        memory.Write(new GuestAddress(PdptAddress), PdAddress | 0x27);
        memory.Write(new GuestAddress(PdptAddress + (3 * 8)), MmioPdAddress | 0x23);
        for (ulong i = 0; i < 512; i++)
        {
            memory.Write(new GuestAddress(PdAddress + (i * 8)), (i << 21) | 0xE7);
            memory.Write(new GuestAddress(MmioPdAddress + (i * 8)), (0xC000_0000 + (i << 21)) | 0xFB);
        }

        var assembler = new Assembler(64);
        var timerHandler = program(assembler);
        var stream = new MemoryStream();
        var result = assembler.Assemble(new StreamCodeWriter(stream), CodeAddress, BlockEncoderOptions.ReturnNewInstructionOffsets);
        memory.WriteBytes(new GuestAddress(CodeAddress), stream.ToArray());
        if (timerHandler is { } label)
        {
            ulong handler = result.GetLabelRIP(label);
            ulong gate = IdtAddress + (0x41 * 16);
            memory.Write(new GuestAddress(gate), (handler & 0xFFFF) | (0x08UL << 16) | (0x8EUL << 40) | (((handler >> 16) & 0xFFFF) << 48));
            memory.Write(new GuestAddress(gate + 8), handler >> 32);
        }
    }

    private static VcpuBootState BootState() => new()
    {
        Rip = CodeAddress,
        Rsp = StackTop,
        Rflags = 0x2,
        Cr0 = 0x8000_0031,
        Cr3 = Pml4Address,
        Cr4 = 0x20,
        Efer = 0xD01,
        Cs = SegmentState.FlatCode64(0x08),
        Ds = SegmentState.FlatData(0x10),
        Es = SegmentState.FlatData(0x10),
        Fs = SegmentState.FlatData(0x10),
        Gs = SegmentState.FlatData(0x10),
        Ss = SegmentState.FlatData(0x10),
        Tr = SegmentState.BusyTss(0x18, 0x3000, 0x67),
        Ldtr = new SegmentState(0, 0, 0, SegmentAttributes.None),
        Gdt = new DescriptorTableState(GdtAddress, 0x27),
        Idt = new DescriptorTableState(IdtAddress, 0xFFF),
    };
}
