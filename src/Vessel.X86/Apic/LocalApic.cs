using System.Diagnostics;
using Vessel.Core.Accel.State;
using Vessel.Core.Bus;
using Vessel.X86.Cpu;
using Vessel.X86.Timers;

namespace Vessel.X86.Apic;

/// <summary>
/// One processor's local APIC (Intel SDM 3A chapter 11), as KVM's lapic.c models it: the xAPIC register page, x2APIC
/// MSRs, priorities (TPR/PPR/ISR/IRR), IPIs, and the timer in one-shot, periodic and TSC-deadline modes. The timer's
/// clock is the 1 GHz APIC bus KVM uses (APIC_BUS_CYCLE_NS = 1), which is also the crystal CPUID leaf 0x15 reports.
/// </summary>
/// <remarks>
/// State is guarded by one lock: the owning vCPU reads and writes registers, other vCPUs and devices deliver messages,
/// and a host timer fires the APIC timer. Nothing is called out of the lock except <see cref="Cpu.Cpu"/>'s lock-free
/// signals; IPIs and EOI broadcasts are sent after the lock is released, so APICs never hold two locks at once.
/// </remarks>
public sealed class LocalApic : IInterruptController, IModelSpecificRegisterExtension, IBusDevice, IDisposable
{
    /// <summary>The architectural default base of the xAPIC page.</summary>
    public const ulong DefaultBase = 0xFEE0_0000;

    public const int PageSize = 0x1000;

    /// <summary>
    /// Version 0x14 (integrated APIC), Max LVT Entry 5: six entries, no CMCI, KVM's value without MCG_CAP.MCG_CMCI_P.
    /// </summary>
    public const uint VersionValue = 0x0005_0014;

    public const uint ApicBaseMsr = 0x1B;
    public const uint TscDeadlineMsr = 0x6E0;
    public const uint X2ApicMsrFirst = 0x800;
    public const uint X2ApicMsrLast = 0x8FF;

    /// <summary>KVM's min_timer_period_us: a periodic timer never fires more often than every 200 µs.</summary>
    public static readonly long MinimumPeriodTicks = Stopwatch.Frequency / 5000;

    private const long BusFrequencyHz = 1_000_000_000;
    private const int LvtCount = 7;
    private const int LvtCorrectedMachineCheckIndex = 0;
    private const int LvtTimerIndex = 1;
    private const int LvtLint0Index = 4;
    private const int LvtErrorIndex = 6;
    private const uint SoftwareEnable = 1u << 8;
    private const uint SpuriousWritableBits = 0x3FF;

    /// <summary>KVM's X2APIC_ICR_RESERVED_BITS: bits 31:20, 17:16 and 13 of the low half.</summary>
    private const ulong X2ApicCommandReserved = 0xFFF3_2000;

    /// <summary>Writable bits per LVT entry, CMCI first (KVM's apic_lvt_mask).</summary>
    private static readonly uint[] LvtWritable =
    [
        0x107FF,
        0x100FF | LocalVectorTableBits.TimerModeMask,
        0x107FF,
        0x107FF,
        0x1A7FF,
        0x1A7FF,
        0x100FF,
    ];

    private readonly Lock sync = new();
    private readonly Cpu.Cpu cpu;
    private readonly ApicBus bus;
    private readonly uint initialApicId;
    private readonly bool bootstrap;
    private readonly HostTimerThread hostTimer;
    private readonly uint[] irr = new uint[8];
    private readonly uint[] isr = new uint[8];
    private readonly uint[] tmr = new uint[8];
    private readonly uint[] lvt = new uint[LvtCount];

    private ulong apicBase;
    private uint id;
    private uint taskPriority;
    private uint logicalDestination;
    private uint destinationFormat;
    private uint spuriousVector;
    private uint errorStatus;
    private uint pendingErrors;
    private uint commandLow;
    private uint commandHigh;
    private uint timerInitialCount;
    private uint timerDivide;
    private long timerStart;
    private long timerPeriodTicks;
    private long timerDeadline = long.MaxValue;
    private long hostTimerDeadline = long.MaxValue;
    private ulong tscDeadline;
    private volatile bool acceptsExternalInterrupts;

    /// <summary>Whether CPUID offers x2APIC mode: without it, IA32_APIC_BASE.EXTD is reserved (SDM 3A §11.12.1).</summary>
    private readonly bool x2ApicOffered;

    /// <summary>
    /// The LVT timer's writable mode bits: TSC-deadline (mode 2) only where CPUID.01H:ECX.TSC_Deadline is set, as KVM's
    /// timer_mode_mask (lapic.c): without it bit 18 is reserved.
    /// </summary>
    private readonly uint timerModeWritable;

    public LocalApic(Cpu.Cpu cpu, ApicBus bus, uint apicId, bool bootstrapProcessor)
    {
        this.cpu = cpu;
        this.bus = bus;
        x2ApicOffered = (cpu.Cpuid.Leaf1Ecx & (uint)CpuidFeatures1Ecx.X2Apic) != 0;
        timerModeWritable = (cpu.Cpuid.Leaf1Ecx & (uint)CpuidFeatures1Ecx.TscDeadline) != 0
            ? LocalVectorTableBits.TimerModeMask
            : 1u << LocalVectorTableBits.TimerModeShift;
        initialApicId = apicId;
        bootstrap = bootstrapProcessor;
        hostTimer = new HostTimerThread("lapic timer", OnHostTimer);
        lock (sync)
        {
            apicBase = DefaultBase | (ulong)ApicBaseBits.GlobalEnable | (bootstrap ? (ulong)ApicBaseBits.BootstrapProcessor : 0);
            id = apicId;
            ResetRegisters();
        }
    }

    public uint InitialApicId => initialApicId;

    /// <summary>Guest-physical base of the register page (IA32_APIC_BASE bits 12 and up).</summary>
    public ulong BaseAddress => apicBase & ~0xFFFUL & ((1UL << Cpu.Cpu.PhysicalAddressBits) - 1);

    public bool GloballyEnabled => (apicBase & (ulong)ApicBaseBits.GlobalEnable) != 0;

    public bool X2ApicMode => (apicBase & (ulong)ApicBaseBits.X2ApicMode) != 0;

    /// <summary>Whether the xAPIC register page answers at <see cref="BaseAddress"/> (enabled, not in x2APIC mode).</summary>
    public bool RegisterPageEnabled => GloballyEnabled && !X2ApicMode;

    public bool SoftwareEnabled => (spuriousVector & SoftwareEnable) != 0;

    /// <summary>
    /// Whether the PIC's INTR reaches this processor: the APIC is globally disabled, or LINT0 is unmasked ExtINT
    /// (KVM's kvm_apic_accept_pic_intr).
    /// </summary>
    public bool AcceptsExternalInterrupts => acceptsExternalInterrupts;

    /// <summary>TPR, what lowest-priority arbitration compares.</summary>
    public uint ArbitrationPriority => taskPriority;

    /// <summary>TPR as CR8 sees it; lowering it may let a held interrupt through at once.</summary>
    public uint TaskPriority
    {
        get
        {
            lock (sync)
            {
                return taskPriority;
            }
        }

        set
        {
            lock (sync)
            {
                taskPriority = value & 0xFF;
                SignalIfDeliverable();
            }
        }
    }

    public long NextDeadline => Volatile.Read(ref timerDeadline);

    /// <summary>Sets LINT0 to ExtINT and LINT1 to NMI, keeping their mask bits: the PC virtual wire (MP spec §3.6.2), as KvmVcpu programs it.</summary>
    public void ProgramVirtualWire()
    {
        lock (sync)
        {
            lvt[LvtLint0Index] = (lvt[LvtLint0Index] & ~LocalVectorTableBits.DeliveryModeMask) | ((uint)ApicDeliveryMode.ExternalInterrupt << LocalVectorTableBits.DeliveryModeShift);
            lvt[LvtLint0Index + 1] = (lvt[LvtLint0Index + 1] & ~LocalVectorTableBits.DeliveryModeMask) | ((uint)ApicDeliveryMode.NonMaskable << LocalVectorTableBits.DeliveryModeShift);
            UpdateExternalInterruptAcceptance();
        }
    }


    public void Read(ulong offset, Span<byte> data)
    {
        int register = (int)(offset & 0xFF0);
        int within = (int)(offset & 0xF);
        data.Clear();
        if (within + data.Length > 4)
        {
            return;
        }

        uint value;
        lock (sync)
        {
            value = ReadRegister(register, x2Apic: false, out _);
        }

        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (byte)(value >> (8 * (within + i)));
        }
    }

    public void Write(ulong offset, ReadOnlySpan<byte> data)
    {
        // SDM 3A §11.4.1: registers are written as aligned 32-bit quantities; KVM ignores anything else.
        if (data.Length != 4 || (offset & 0xF) != 0)
        {
            return;
        }

        uint value = BitConverter.ToUInt32(data);
        WriteRegister((int)(offset & 0xFF0), value, x2Apic: false);
    }


    public ModelSpecificRegisterAccess ReadMsr(uint index, out ulong value)
    {
        value = 0;
        if (index == ApicBaseMsr)
        {
            value = apicBase;
            return ModelSpecificRegisterAccess.Handled;
        }

        if (index == TscDeadlineMsr)
        {
            lock (sync)
            {
                value = CurrentTimerMode == ApicTimerMode.TscDeadline ? tscDeadline : 0;
            }

            return ModelSpecificRegisterAccess.Handled;
        }

        if (index is < X2ApicMsrFirst or > X2ApicMsrLast)
        {
            return ModelSpecificRegisterAccess.NotHandled;
        }

        if (!X2ApicMode)
        {
            return ModelSpecificRegisterAccess.GeneralProtection;
        }

        int register = (int)(index - X2ApicMsrFirst) << 4;
        lock (sync)
        {
            if (register == (int)ApicRegister.InterruptCommandLow)
            {
                value = commandLow | ((ulong)commandHigh << 32);
                return ModelSpecificRegisterAccess.Handled;
            }

            value = ReadRegister(register, x2Apic: true, out bool valid);
            return valid ? ModelSpecificRegisterAccess.Handled : ModelSpecificRegisterAccess.GeneralProtection;
        }
    }

    public ModelSpecificRegisterAccess WriteMsr(uint index, ulong value)
    {
        if (index == ApicBaseMsr)
        {
            return WriteApicBase(value) ? ModelSpecificRegisterAccess.Handled : ModelSpecificRegisterAccess.GeneralProtection;
        }

        if (index == TscDeadlineMsr)
        {
            WriteTscDeadline(value);
            return ModelSpecificRegisterAccess.Handled;
        }

        if (index is < X2ApicMsrFirst or > X2ApicMsrLast)
        {
            return ModelSpecificRegisterAccess.NotHandled;
        }

        if (!X2ApicMode)
        {
            return ModelSpecificRegisterAccess.GeneralProtection;
        }

        int register = (int)(index - X2ApicMsrFirst) << 4;
        if (register == (int)ApicRegister.InterruptCommandLow)
        {
            // SDM 3A §11.12.9: in x2APIC mode the ICR is one 64-bit MSR with a 32-bit destination in the high half.
            if ((value & X2ApicCommandReserved) != 0)
            {
                return ModelSpecificRegisterAccess.GeneralProtection;
            }

            InterruptMessage message;
            LocalApic? source;
            lock (sync)
            {
                commandHigh = (uint)(value >> 32);
                commandLow = (uint)value & ~LocalVectorTableBits.DeliveryStatus;
                message = CommandMessage(out source);
            }

            SendInterprocessorInterrupt(message, source);
            return ModelSpecificRegisterAccess.Handled;
        }

        if ((value >> 32) != 0)
        {
            return ModelSpecificRegisterAccess.GeneralProtection;
        }

        return WriteRegister(register, (uint)value, x2Apic: true) ? ModelSpecificRegisterAccess.Handled : ModelSpecificRegisterAccess.GeneralProtection;
    }


    public bool TryAcknowledge(out int vector)
    {
        // KVM's kvm_cpu_get_interrupt: the PIC's ExtINT comes first and bypasses the APIC's priorities.
        if (acceptsExternalInterrupts && bus.ExternalInterrupts is { OutputAsserted: true } pic)
        {
            vector = pic.Acknowledge();
            return true;
        }

        lock (sync)
        {
            int highest = HighestBit(irr);
            if (highest < 0 || (highest & 0xF0) <= (ProcessorPriority() & 0xF0))
            {
                vector = 0;
                return false;
            }

            ClearBit(irr, highest);
            SetBit(isr, highest);
            vector = highest;
            return true;
        }
    }

    public void Poll(long now)
    {
        if (now < Volatile.Read(ref timerDeadline))
        {
            return;
        }

        lock (sync)
        {
            ExpireTimerIfDue(now);
            ArmHostTimer();
        }
    }


    /// <summary>Whether this APIC is a target of a message's destination (Intel SDM 3A §11.6.2).</summary>
    public bool Matches(InterruptMessage message)
    {
        uint destination = message.Destination;
        bool x2 = X2ApicMode;
        bool broadcast = message.X2ApicDestination ? destination == 0xFFFF_FFFF : (destination & 0xFF) == 0xFF;
        if (broadcast)
        {
            return true;
        }

        if (!message.LogicalDestination)
        {
            return x2 ? destination == id : (destination & 0xFF) == id;
        }

        uint logical = logicalDestination;
        if (x2)
        {
            // SDM 3A §11.12.10.2: cluster in bits 31:16, a bit mask of the 16 members in bits 15:0.
            return (destination >> 16) == (logical >> 16) && (destination & logical & 0xFFFF) != 0;
        }

        uint target = destination & 0xFF;
        uint mine = logical >> 24;
        bool flat = (destinationFormat >> 28) == 0xF;
        return flat ? (target & mine) != 0 : (target >> 4) == (mine >> 4) && (target & mine & 0xF) != 0;
    }

    /// <summary>Accepts a message this APIC is a target of.</summary>
    public void Accept(InterruptMessage message)
    {
        switch (message.DeliveryMode)
        {
            case ApicDeliveryMode.Fixed:
            case ApicDeliveryMode.LowestPriority:
                lock (sync)
                {
                    AcceptFixed(message.Vector, message.LevelTriggered);
                }

                break;
            case ApicDeliveryMode.NonMaskable:
                cpu.SignalNonMaskableInterrupt();
                break;
            case ApicDeliveryMode.Init:
                // SDM 3A §11.6.1: INIT level de-assert only synchronizes arbitration IDs.
                if (message.LevelTriggered && !message.Assert)
                {
                    break;
                }

                lock (sync)
                {
                    // SDM 3A §11.4.7.3: INIT resets the APIC except its ID and IA32_APIC_BASE.
                    ResetRegisters();
                }

                cpu.SignalInit();
                break;
            case ApicDeliveryMode.Startup:
                cpu.SignalStartup(message.Vector);
                break;
            default:
                // SMI has no SMM to enter; ExtINT messages are served by LINT0 (KVM ignores both here too).
                break;
        }
    }

    /// <summary>
    /// The APIC as KVM_GET_LAPIC gives it: the register page with the ID in bits 31:24 and the timer's remaining count in
    /// TMCCT, IA32_APIC_BASE and IA32_TSC_DEADLINE. Pending ESR bits not yet latched by an ESR write are not carried.
    /// </summary>
    public LocalApicState GetState()
    {
        long now = cpu.Clock.GetTimestamp();
        lock (sync)
        {
            // A deadline the host timer thread has not reached yet (it runs late on a loaded host) is taken now, as the
            // hardware would have: the tick lands in IRR and a periodic count reloads, instead of the state recording an
            // overdue timer reading 0 that fires again at once wherever it is restored.
            ExpireTimerIfDue(now);
            var state = new LocalApicState { ApicBase = apicBase, TscDeadline = tscDeadline };
            state.SetRegister((int)ApicRegister.Id, id << 24);
            state.SetRegister((int)ApicRegister.Version, VersionValue);
            state.SetRegister((int)ApicRegister.TaskPriority, taskPriority);
            state.SetRegister((int)ApicRegister.ProcessorPriority, ProcessorPriority());
            state.SetRegister((int)ApicRegister.LogicalDestination, logicalDestination);
            state.SetRegister((int)ApicRegister.DestinationFormat, destinationFormat);
            state.SetRegister((int)ApicRegister.SpuriousInterruptVector, spuriousVector);
            for (int word = 0; word < 8; word++)
            {
                state.SetRegister((int)ApicRegister.InService + (word * 0x10), isr[word]);
                state.SetRegister((int)ApicRegister.TriggerMode + (word * 0x10), tmr[word]);
                state.SetRegister((int)ApicRegister.InterruptRequest + (word * 0x10), irr[word]);
            }

            state.SetRegister((int)ApicRegister.ErrorStatus, errorStatus);
            state.SetRegister((int)ApicRegister.LvtCorrectedMachineCheck, lvt[LvtCorrectedMachineCheckIndex]);
            state.SetRegister((int)ApicRegister.InterruptCommandLow, commandLow);
            state.SetRegister((int)ApicRegister.InterruptCommandHigh, commandHigh);
            for (int index = LvtTimerIndex; index < LvtCount; index++)
            {
                state.SetRegister((int)ApicRegister.LvtTimer + ((index - LvtTimerIndex) * 0x10), lvt[index]);
            }

            state.SetRegister((int)ApicRegister.TimerInitialCount, timerInitialCount);
            state.SetRegister((int)ApicRegister.TimerCurrentCount, CurrentCount(now));
            state.SetRegister((int)ApicRegister.TimerDivideConfiguration, timerDivide);
            return state;
        }
    }

    /// <summary>Why this APIC cannot take <paramref name="state"/>, or null when it can.</summary>
    public string? CheckState(LocalApicState state)
    {
        bool x2 = (state.ApicBase & (ulong)ApicBaseBits.X2ApicMode) != 0;
        return x2 && !x2ApicOffered ? "the local APIC is in x2APIC mode and this CPU model does not offer x2APIC" : null;
    }

    /// <summary>
    /// Loads a state <see cref="CheckState"/> accepted, masking each register to its writable bits. The timer resumes
    /// with TMCCT counts left (periodic timers then reload TMICT); a TSC deadline is re-aimed from the restored TSC,
    /// so the owning CPU's state must be loaded first.
    /// </summary>
    public void SetState(LocalApicState state)
    {
        long now = cpu.Clock.GetTimestamp();
        lock (sync)
        {
            apicBase = state.ApicBase & ((((1UL << Cpu.Cpu.PhysicalAddressBits) - 1) & ~0xFFFUL)
                | (ulong)(ApicBaseBits.GlobalEnable | ApicBaseBits.X2ApicMode | ApicBaseBits.BootstrapProcessor));
            id = state.Register((int)ApicRegister.Id) >> 24;
            if (X2ApicMode)
            {
                id = initialApicId;
            }

            taskPriority = state.Register((int)ApicRegister.TaskPriority) & 0xFF;
            logicalDestination = state.Register((int)ApicRegister.LogicalDestination);
            destinationFormat = state.Register((int)ApicRegister.DestinationFormat) | 0x0FFF_FFFF;
            spuriousVector = state.Register((int)ApicRegister.SpuriousInterruptVector) & SpuriousWritableBits;
            for (int word = 0; word < 8; word++)
            {
                isr[word] = state.Register((int)ApicRegister.InService + (word * 0x10));
                tmr[word] = state.Register((int)ApicRegister.TriggerMode + (word * 0x10));
                irr[word] = state.Register((int)ApicRegister.InterruptRequest + (word * 0x10));
            }

            errorStatus = state.Register((int)ApicRegister.ErrorStatus);
            pendingErrors = 0;
            lvt[LvtCorrectedMachineCheckIndex] = state.Register((int)ApicRegister.LvtCorrectedMachineCheck) & LvtWritable[LvtCorrectedMachineCheckIndex];
            commandLow = state.Register((int)ApicRegister.InterruptCommandLow) & ~(1u << 12);
            commandHigh = state.Register((int)ApicRegister.InterruptCommandHigh);
            for (int index = LvtTimerIndex; index < LvtCount; index++)
            {
                uint value = state.Register((int)ApicRegister.LvtTimer + ((index - LvtTimerIndex) * 0x10));
                uint writable = LvtWritable[index] | (index is LvtLint0Index or LvtLint0Index + 1 ? LocalVectorTableBits.RemoteIrrOrLevel : 0);
                if (index == LvtTimerIndex)
                {
                    writable &= ~LocalVectorTableBits.TimerModeMask | timerModeWritable;
                }

                lvt[index] = value & writable;
            }

            timerInitialCount = state.Register((int)ApicRegister.TimerInitialCount);
            timerDivide = state.Register((int)ApicRegister.TimerDivideConfiguration) & 0xB;
            tscDeadline = 0;
            timerPeriodTicks = 0;
            SetTimerDeadline(long.MaxValue);
            if (CurrentTimerMode == ApicTimerMode.TscDeadline)
            {
                tscDeadline = state.TscDeadline;
                if (tscDeadline != 0)
                {
                    ulong tscNow = cpu.TimeStampCounter;
                    SetTimerDeadline(tscDeadline <= tscNow
                        ? now
                        : now + (long)UInt128.Min((UInt128)(tscDeadline - tscNow) * (ulong)Stopwatch.Frequency / cpu.Cpuid.TscFrequencyHz, long.MaxValue / 4));
                }
            }
            else if (timerInitialCount != 0)
            {
                uint remaining = state.Register((int)ApicRegister.TimerCurrentCount);
                timerStart = now;
                timerPeriodTicks = Math.Max(1, CountsToTicks(timerInitialCount, Divisor));
                if (CurrentTimerMode == ApicTimerMode.Periodic)
                {
                    timerPeriodTicks = Math.Max(timerPeriodTicks, MinimumPeriodTicks);
                    SetTimerDeadline(now + CountsToTicks(remaining, Divisor));
                }
                else if (remaining != 0)
                {
                    SetTimerDeadline(now + CountsToTicks(remaining, Divisor));
                }
            }

            UpdateExternalInterruptAcceptance();
            SignalIfDeliverable();
        }
    }

    /// <summary>The PIC raised INTR and this processor takes PIC interrupts.</summary>
    public void SignalExternalInterrupt() => cpu.SignalInterrupt();

    public void Dispose() => hostTimer.Dispose();


    private uint ReadRegister(int register, bool x2Apic, out bool valid)
    {
        valid = true;
        switch ((ApicRegister)register)
        {
            case ApicRegister.Id: return x2Apic ? id : id << 24;
            case ApicRegister.Version: return VersionValue;
            case ApicRegister.TaskPriority: return taskPriority;
            case ApicRegister.ArbitrationPriority: valid = !x2Apic; return 0;
            case ApicRegister.ProcessorPriority: return ProcessorPriority();
            case ApicRegister.EndOfInterrupt: valid = !x2Apic; return 0;
            case ApicRegister.RemoteRead: valid = !x2Apic; return 0;
            case ApicRegister.LogicalDestination: return logicalDestination;
            case ApicRegister.DestinationFormat: valid = !x2Apic; return destinationFormat;
            case ApicRegister.SpuriousInterruptVector: return spuriousVector;
            case ApicRegister.ErrorStatus: return errorStatus;
            case ApicRegister.LvtCorrectedMachineCheck:
                // The version register's Max LVT Entry is 5, so there is no CMCI entry: in x2APIC mode its MSR is
                // reserved (SDM 3A §11.12.1.2; KVM's kvm_lapic_lvt_supported), and
                // the xAPIC register reads as zero.
                valid = !x2Apic;
                return 0;
            case ApicRegister.InterruptCommandLow: return commandLow;
            case ApicRegister.InterruptCommandHigh: valid = !x2Apic; return commandHigh;
            case ApicRegister.LvtTimer:
            case ApicRegister.LvtThermalSensor:
            case ApicRegister.LvtPerformanceCounter:
            case ApicRegister.LvtLint0:
            case ApicRegister.LvtLint1:
            case ApicRegister.LvtError:
                return lvt[LvtTimerIndex + ((register - (int)ApicRegister.LvtTimer) >> 4)];
            case ApicRegister.TimerInitialCount: return timerInitialCount;
            case ApicRegister.TimerCurrentCount: return CurrentCount(cpu.Clock.GetTimestamp());
            case ApicRegister.TimerDivideConfiguration: return timerDivide;
        }

        if (register >= (int)ApicRegister.InService && register < (int)ApicRegister.InterruptRequest + 0x80)
        {
            int word = (register >> 4) & 7;
            return register < (int)ApicRegister.TriggerMode ? isr[word] : register < (int)ApicRegister.InterruptRequest ? tmr[word] : irr[word];
        }

        valid = !x2Apic;
        return 0;
    }

    /// <summary>Writes a register; false when x2APIC mode refuses the write (read-only or reserved: #GP).</summary>
    private bool WriteRegister(int register, uint value, bool x2Apic)
    {
        InterruptMessage? ipi = null;
        LocalApic? source = null;
        int endOfInterruptVector = -1;
        lock (sync)
        {
            switch ((ApicRegister)register)
            {
                case ApicRegister.Id:
                    if (x2Apic)
                    {
                        return false;
                    }

                    // KVM lets software move the xAPIC ID (kvm_apic_set_xapic_id).
                    id = value >> 24;
                    break;
                case ApicRegister.TaskPriority:
                    taskPriority = value & 0xFF;
                    SignalIfDeliverable();
                    break;
                case ApicRegister.EndOfInterrupt:
                    if (x2Apic && value != 0)
                    {
                        return false;
                    }

                    endOfInterruptVector = EndOfInterrupt();
                    break;
                case ApicRegister.LogicalDestination:
                    if (x2Apic)
                    {
                        return false;
                    }

                    logicalDestination = value & 0xFF00_0000;
                    break;
                case ApicRegister.DestinationFormat:
                    if (x2Apic)
                    {
                        return false;
                    }

                    destinationFormat = value | 0x0FFF_FFFF;
                    break;
                case ApicRegister.SpuriousInterruptVector:
                    WriteSpuriousVector(value);
                    break;
                case ApicRegister.ErrorStatus:
                    if (x2Apic && value != 0)
                    {
                        return false;
                    }

                    // SDM 3A §11.5.3: a write latches the errors collected since the last write.
                    errorStatus = pendingErrors;
                    pendingErrors = 0;
                    break;
                case ApicRegister.InterruptCommandLow:
                    if (x2Apic)
                    {
                        return false;
                    }

                    commandLow = value & ~LocalVectorTableBits.DeliveryStatus;
                    ipi = CommandMessage(out source);
                    break;
                case ApicRegister.InterruptCommandHigh:
                    if (x2Apic)
                    {
                        return false;
                    }

                    commandHigh = value & 0xFF00_0000;
                    break;
                case ApicRegister.LvtCorrectedMachineCheck:
                    if (x2Apic)
                    {
                        return false;
                    }

                    break;
                case ApicRegister.LvtTimer:
                case ApicRegister.LvtThermalSensor:
                case ApicRegister.LvtPerformanceCounter:
                case ApicRegister.LvtLint0:
                case ApicRegister.LvtLint1:
                case ApicRegister.LvtError:
                    WriteLvt(LvtTimerIndex + ((register - (int)ApicRegister.LvtTimer) >> 4), value);
                    break;
                case ApicRegister.TimerInitialCount:
                    if (CurrentTimerMode != ApicTimerMode.TscDeadline)
                    {
                        timerInitialCount = value;
                        StartCountdown(cpu.Clock.GetTimestamp());
                    }

                    break;
                case ApicRegister.TimerDivideConfiguration:
                    timerDivide = value & 0xB;
                    break;
                case ApicRegister.SelfInterprocessorInterrupt:
                    if (!x2Apic)
                    {
                        break;
                    }

                    // SDM 3A §11.12.11: bits 31:8 of SELF IPI are reserved; setting one is #GP.
                    if (value > 0xFF)
                    {
                        return false;
                    }

                    AcceptFixed((int)(value & 0xFF), levelTriggered: false);
                    break;
                default:
                    if (x2Apic)
                    {
                        return false;
                    }

                    break;
            }
        }

        if (ipi is { } message)
        {
            SendInterprocessorInterrupt(message, source);
        }

        if (endOfInterruptVector >= 0)
        {
            bus.BroadcastEndOfInterrupt(endOfInterruptVector);
        }

        return true;
    }

    private bool WriteApicBase(ulong value)
    {
        const ulong writable = (ulong)(ApicBaseBits.GlobalEnable | ApicBaseBits.X2ApicMode);
        ulong baseMask = ((1UL << Cpu.Cpu.PhysicalAddressBits) - 1) & ~0xFFFUL;
        if ((value & ~(baseMask | writable | (ulong)ApicBaseBits.BootstrapProcessor)) != 0)
        {
            return false;
        }

        bool enable = (value & (ulong)ApicBaseBits.GlobalEnable) != 0;
        bool x2 = (value & (ulong)ApicBaseBits.X2ApicMode) != 0;
        if (x2 && !x2ApicOffered)
        {
            return false;
        }

        lock (sync)
        {
            bool wasEnabled = GloballyEnabled;
            bool wasX2 = X2ApicMode;

            // SDM 3A §11.12.5 (Figure 11-27): x2APIC needs EN and is entered only from xAPIC mode; leaving x2APIC
            // goes through disabled.
            if (x2 && (!enable || !wasEnabled))
            {
                return false;
            }

            if (wasX2 && enable && !x2)
            {
                return false;
            }

            apicBase = (value & (baseMask | writable)) | (apicBase & (ulong)ApicBaseBits.BootstrapProcessor);
            if (wasEnabled && !enable)
            {
                // SDM 3A §11.4.3: a globally disabled APIC comes back in its power-up state.
                ResetRegisters();
                id = initialApicId;
            }

            if (x2 && !wasX2)
            {
                // SDM 3A §11.12.5.1: the x2APIC ID is the initial APIC ID, and the LDR is derived from it.
                id = initialApicId;
                logicalDestination = ((initialApicId >> 4) << 16) | (1u << (int)(initialApicId & 0xF));
            }

            UpdateExternalInterruptAcceptance();
        }

        return true;
    }

    private void WriteSpuriousVector(uint value)
    {
        spuriousVector = value & SpuriousWritableBits;
        if ((value & SoftwareEnable) == 0)
        {
            // SDM 3A §11.4.7.2: software-disabling sets every LVT mask bit.
            for (int i = 0; i < LvtCount; i++)
            {
                lvt[i] |= LocalVectorTableBits.Masked;
            }

            UpdateExternalInterruptAcceptance();
        }
    }

    private void WriteLvt(int index, uint value)
    {
        uint entry = value & LvtWritable[index];
        if (index == LvtTimerIndex)
        {
            entry &= ~LocalVectorTableBits.TimerModeMask | timerModeWritable;
        }
        if (!SoftwareEnabled)
        {
            entry |= LocalVectorTableBits.Masked;
        }

        if (index == LvtTimerIndex)
        {
            // A deadline already passed fired under the old entry, as it would have in hardware, even if the host timer
            // has not come round to it yet: else a one-shot count that ran out before a switch to periodic mode would be
            // taken as a period and start again (kvm-unit-tests' x2apic "stay at zero" check, on a loaded host).
            ExpireTimerIfDue(cpu.Clock.GetTimestamp());
            var oldMode = CurrentTimerMode;
            lvt[index] = entry;
            var newMode = CurrentTimerMode;
            if ((oldMode == ApicTimerMode.TscDeadline) != (newMode == ApicTimerMode.TscDeadline))
            {
                // KVM's apic_update_lvtt: switching to or from TSC-deadline stops the timer.
                timerInitialCount = 0;
                tscDeadline = 0;
                timerPeriodTicks = 0;
                SetTimerDeadline(long.MaxValue);
            }

            return;
        }

        lvt[index] = entry | (lvt[index] & LocalVectorTableBits.RemoteIrrOrLevel & (index is LvtLint0Index or LvtLint0Index + 1 ? uint.MaxValue : 0));
        if (index == LvtLint0Index)
        {
            UpdateExternalInterruptAcceptance();
        }
    }

    private void ResetRegisters()
    {
        Array.Clear(irr);
        Array.Clear(isr);
        Array.Clear(tmr);
        for (int i = 0; i < LvtCount; i++)
        {
            lvt[i] = LocalVectorTableBits.Masked;
        }

        // KVM_X86_QUIRK_LINT0_REENABLED: the BSP's LINT0 comes out of reset as unmasked ExtINT, so the PIC reaches it.
        if (bootstrap)
        {
            lvt[LvtLint0Index] = (uint)ApicDeliveryMode.ExternalInterrupt << LocalVectorTableBits.DeliveryModeShift;
        }

        taskPriority = 0;
        logicalDestination = X2ApicMode ? logicalDestination : 0;
        destinationFormat = 0xFFFF_FFFF;
        spuriousVector = 0xFF;
        errorStatus = 0;
        pendingErrors = 0;
        commandLow = 0;
        commandHigh = 0;
        timerInitialCount = 0;
        timerDivide = 0;
        timerPeriodTicks = 0;
        tscDeadline = 0;
        SetTimerDeadline(long.MaxValue);
        UpdateExternalInterruptAcceptance();
    }

    private void UpdateExternalInterruptAcceptance()
    {
        uint lint0 = lvt[LvtLint0Index];
        acceptsExternalInterrupts = !GloballyEnabled
            || ((lint0 & LocalVectorTableBits.Masked) == 0 && LocalVectorTableBits.DeliveryMode(lint0) == ApicDeliveryMode.ExternalInterrupt);
    }


    /// <summary>PPR (SDM 3A §11.8.3.1): TPR if its class is at least the highest in-service class, else that class.</summary>
    private uint ProcessorPriority()
    {
        int inService = HighestBit(isr);
        uint inServiceClass = inService < 0 ? 0 : (uint)inService & 0xF0;
        return (taskPriority & 0xF0) >= inServiceClass ? taskPriority : inServiceClass;
    }

    private void AcceptFixed(int vector, bool levelTriggered)
    {
        if (!SoftwareEnabled)
        {
            // KVM's __apic_accept_irq drops fixed interrupts while the APIC is software-disabled.
            return;
        }

        if (vector < 16)
        {
            RecordError(ApicErrorStatus.ReceiveIllegalVector);
            return;
        }

        SetBit(irr, vector);
        if (levelTriggered)
        {
            SetBit(tmr, vector);
        }
        else
        {
            ClearBit(tmr, vector);
        }

        SignalIfDeliverable();
    }

    private void RecordError(ApicErrorStatus error)
    {
        pendingErrors |= (uint)error;
        uint entry = lvt[LvtErrorIndex];
        if ((entry & LocalVectorTableBits.Masked) == 0 && (entry & 0xFF) >= 16)
        {
            SetBit(irr, (int)(entry & 0xFF));
            ClearBit(tmr, (int)(entry & 0xFF));
            SignalIfDeliverable();
        }
    }

    /// <summary>Clears the highest in-service vector; returns it when level-triggered (to broadcast), else -1.</summary>
    private int EndOfInterrupt()
    {
        int vector = HighestBit(isr);
        if (vector < 0)
        {
            return -1;
        }

        ClearBit(isr, vector);
        SignalIfDeliverable();
        return TestBit(tmr, vector) ? vector : -1;
    }

    private void SignalIfDeliverable()
    {
        int highest = HighestBit(irr);
        if (highest >= 0 && (highest & 0xF0) > (ProcessorPriority() & 0xF0))
        {
            cpu.SignalInterrupt();
        }
    }


    private InterruptMessage CommandMessage(out LocalApic? source)
    {
        uint low = commandLow;
        var mode = LocalVectorTableBits.DeliveryMode(low);
        var shorthand = (ApicDestinationShorthand)((low & LocalVectorTableBits.ShorthandMask) >> LocalVectorTableBits.ShorthandShift);
        int vector = (int)(low & LocalVectorTableBits.VectorMask);
        source = this;
        if (mode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority && vector < 16)
        {
            RecordError(ApicErrorStatus.SendIllegalVector);
        }

        return new InterruptMessage(
            Vector: vector,
            DeliveryMode: mode,
            LogicalDestination: (low & LocalVectorTableBits.LogicalDestination) != 0,
            Destination: X2ApicMode ? commandHigh : commandHigh >> 24,
            LevelTriggered: (low & LocalVectorTableBits.LevelTriggered) != 0,
            Assert: (low & LocalVectorTableBits.RemoteIrrOrLevel) != 0,
            Shorthand: shorthand,
            X2ApicDestination: X2ApicMode);
    }

    private void SendInterprocessorInterrupt(InterruptMessage message, LocalApic? source)
    {
        if (message.DeliveryMode is ApicDeliveryMode.Fixed or ApicDeliveryMode.LowestPriority && message.Vector < 16)
        {
            return;
        }

        bus.Deliver(message, source);
    }


    private ApicTimerMode CurrentTimerMode => (ApicTimerMode)((lvt[LvtTimerIndex] & LocalVectorTableBits.TimerModeMask) >> LocalVectorTableBits.TimerModeShift);

    /// <summary>TDCR bits 3, 1:0 (SDM 3A Figure 11-10): 0b111 divides by 1, else by 2 &lt;&lt; value.</summary>
    private int Divisor
    {
        get
        {
            uint code = (timerDivide & 3) | ((timerDivide >> 1) & 4);
            return code == 7 ? 1 : 2 << (int)code;
        }
    }

    private static long CountsToTicks(ulong counts, int divisor) =>
        (long)UInt128.Min((UInt128)counts * (ulong)divisor * (ulong)Stopwatch.Frequency / BusFrequencyHz, long.MaxValue / 4);

    private void StartCountdown(long now)
    {
        if (timerInitialCount == 0)
        {
            timerPeriodTicks = 0;
            SetTimerDeadline(long.MaxValue);
            return;
        }

        timerStart = now;
        timerPeriodTicks = Math.Max(1, CountsToTicks(timerInitialCount, Divisor));
        if (CurrentTimerMode == ApicTimerMode.Periodic)
        {
            timerPeriodTicks = Math.Max(timerPeriodTicks, MinimumPeriodTicks);
        }

        SetTimerDeadline(now + timerPeriodTicks);
    }

    private uint CurrentCount(long now)
    {
        if (CurrentTimerMode == ApicTimerMode.TscDeadline || timerDeadline == long.MaxValue || timerPeriodTicks == 0)
        {
            return 0;
        }

        long remaining = Math.Max(0, timerDeadline - now);
        UInt128 counts = (UInt128)(ulong)remaining * BusFrequencyHz / (ulong)Stopwatch.Frequency / (ulong)Divisor;
        return (uint)UInt128.Min(counts, timerInitialCount);
    }

    private void WriteTscDeadline(ulong value)
    {
        lock (sync)
        {
            if (CurrentTimerMode != ApicTimerMode.TscDeadline)
            {
                // SDM 3A §11.5.4.1: outside TSC-deadline mode writes to IA32_TSC_DEADLINE are ignored.
                return;
            }

            tscDeadline = value;
            if (value == 0)
            {
                SetTimerDeadline(long.MaxValue);
                return;
            }

            long now = cpu.Clock.GetTimestamp();
            ulong tscNow = cpu.TimeStampCounter;
            long deadline = value <= tscNow
                ? now
                : now + (long)UInt128.Min((UInt128)(value - tscNow) * (ulong)Stopwatch.Frequency / cpu.Cpuid.TscFrequencyHz, long.MaxValue / 4);
            SetTimerDeadline(deadline);
            ExpireTimerIfDue(now);
            ArmHostTimer();
        }
    }

    private void ExpireTimerIfDue(long now)
    {
        if (now < timerDeadline)
        {
            return;
        }

        uint entry = lvt[LvtTimerIndex];
        if ((entry & LocalVectorTableBits.Masked) == 0)
        {
            AcceptFixed((int)(entry & LocalVectorTableBits.VectorMask), levelTriggered: false);
        }

        switch (CurrentTimerMode)
        {
            case ApicTimerMode.Periodic when timerPeriodTicks > 0:
                long next = timerDeadline + timerPeriodTicks;

                // Periods missed while the host was busy coalesce into the one interrupt just raised.
                SetTimerDeadline(next > now ? next : now + timerPeriodTicks);
                break;
            case ApicTimerMode.TscDeadline:
                tscDeadline = 0;
                SetTimerDeadline(long.MaxValue);
                break;
            default:
                SetTimerDeadline(long.MaxValue);
                break;
        }
    }

    private void SetTimerDeadline(long deadline)
    {
        Volatile.Write(ref timerDeadline, deadline);
        ArmHostTimer();
    }

    /// <summary>Keeps the host timer aimed at the deadline, so a running (not halted) vCPU is told when it expires.</summary>
    private void ArmHostTimer()
    {
        long deadline = timerDeadline;
        if (deadline == hostTimerDeadline)
        {
            return;
        }

        hostTimerDeadline = deadline;
        if (deadline == long.MaxValue)
        {
            hostTimer.Change(Timeout.Infinite);
            return;
        }

        long remaining = deadline - cpu.Clock.GetTimestamp();
        long milliseconds = remaining <= 0 ? 0 : Math.Min((remaining * 1000 / Stopwatch.Frequency) + 1, int.MaxValue - 1);
        hostTimer.Change(milliseconds);
    }

    private void OnHostTimer()
    {
        long now = cpu.Clock.GetTimestamp();
        lock (sync)
        {
            hostTimerDeadline = long.MaxValue;
            ExpireTimerIfDue(now);
            ArmHostTimer();
        }
    }


    private static int HighestBit(uint[] words)
    {
        for (int word = 7; word >= 0; word--)
        {
            if (words[word] != 0)
            {
                return (word * 32) + 31 - System.Numerics.BitOperations.LeadingZeroCount(words[word]);
            }
        }

        return -1;
    }

    private static void SetBit(uint[] words, int bit) => words[bit >> 5] |= 1u << (bit & 31);

    private static void ClearBit(uint[] words, int bit) => words[bit >> 5] &= ~(1u << (bit & 31));

    private static bool TestBit(uint[] words, int bit) => (words[bit >> 5] & (1u << (bit & 31))) != 0;
}
