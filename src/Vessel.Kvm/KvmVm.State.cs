using System.Diagnostics;
using System.Runtime.InteropServices;
using Vessel.Core.Accel.State;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Kvm.Interop;

namespace Vessel.Kvm;

/// <summary>
/// The VM's part of a snapshot: every vCPU, the in-kernel PIC pair and IOAPIC (KVM_GET/SET_IRQCHIP), the PIT
/// (KVM_GET/SET_PIT2) and kvmclock (KVM_GET/SET_CLOCK), in the neutral layout the software accelerator also reads;
/// and the dirty log (KVM_MEM_LOG_DIRTY_PAGES, KVM_GET_DIRTY_LOG).
/// </summary>
public sealed unsafe partial class KvmVm
{
    private readonly GuestMemory memory;
    private readonly KvmStateSupport stateSupport;
    private readonly List<KvmVcpu> vcpus = [];
    private bool dirtyLogging;

    /// <summary>The whole accelerator state in the neutral layout; every vCPU must be outside KVM_RUN.</summary>
    public AcceleratorState CaptureState()
    {
        KvmVcpu[] created;
        lock (vcpus)
        {
            created = [.. vcpus];
        }

        var states = new VcpuState[created.Length];
        for (int i = 0; i < created.Length; i++)
        {
            states[i] = created[i].GetState();
        }

        var master = GetIrqchip(KvmIrqchipId.PicMaster);
        var slave = GetIrqchip(KvmIrqchipId.PicSlave);
        var ioapic = GetIrqchip(KvmIrqchipId.Ioapic);
        KvmPitState2 pit;
        KvmClockData clock;

        // Safety: pit and clock are locals of the sizes KVM_GET_PIT2 and KVM_GET_CLOCK encode.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetPit2, &pit), "KVM_GET_PIT2");
        long now = Stopwatch.GetTimestamp();
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetClock, &clock), "KVM_GET_CLOCK");
        return new AcceleratorState
        {
            Kind = "kvm",
            ClockNanoseconds = (long)clock.Clock,
            Vcpus = states,
            Pic = new PicState { Master = FromPic(master.Pic), Slave = FromPic(slave.Pic) },
            IoApic = FromIoapic(ioapic.Ioapic),
            Pit = FromPit(pit, now),
        };
    }

    public void SaveState(StateWriter writer) => CaptureState().Write(writer);

    /// <summary>
    /// Reads the whole saved state (either accelerator's) before touching the VM, then loads the chips, the PIT, the clock
    /// and each vCPU. KVM restarts each PIT counter from its initial count on KVM_SET_PIT2 (kvm_pit_load_count).
    /// </summary>
    public void RestoreState(StateReader reader)
    {
        int count;
        lock (vcpus)
        {
            count = vcpus.Count;
        }

        var state = AcceleratorState.Read(reader, count);
        ApplyState(state);
    }

    public void ApplyState(AcceleratorState state)
    {
        var master = new KvmIrqchip { ChipId = (uint)KvmIrqchipId.PicMaster, Pic = ToPic(state.Pic.Master, master: true) };
        var slave = new KvmIrqchip { ChipId = (uint)KvmIrqchipId.PicSlave, Pic = ToPic(state.Pic.Slave, master: false) };
        var ioapic = new KvmIrqchip { ChipId = (uint)KvmIrqchipId.Ioapic, Ioapic = ToIoapic(state.IoApic) };
        SetIrqchip(master);
        SetIrqchip(slave);
        SetIrqchip(ioapic);
        var pit = ToPit(state.Pit, Stopwatch.GetTimestamp());

        // Safety: pit is a local kvm_pit_state2.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetPit2, &pit), "KVM_SET_PIT2");
        if (state.Kind == "kvm")
        {
            var clock = new KvmClockData { Clock = (ulong)state.ClockNanoseconds };

            // Safety: clock is a local kvm_clock_data.
            KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetClock, &clock), "KVM_SET_CLOCK");
        }

        KvmVcpu[] created;
        lock (vcpus)
        {
            created = [.. vcpus];
        }

        for (int i = 0; i < created.Length; i++)
        {
            created[i].SetState(state.Vcpus[i]);
        }
    }

    /// <summary>Re-registers every memory slot with KVM_MEM_LOG_DIRTY_PAGES: from now on KVM tracks guest writes per page.</summary>
    public void StartDirtyLog()
    {
        for (int slot = 0; slot < memory.Regions.Count; slot++)
        {
            SetSlot(slot, KvmConstants.MemLogDirtyPages);
        }

        dirtyLogging = true;
    }

    /// <summary>KVM_GET_DIRTY_LOG for each slot (which also re-arms write tracking), each set bit into guest memory's log.</summary>
    public void CollectDirtyPages()
    {
        if (!dirtyLogging)
        {
            throw new InvalidOperationException("CollectDirtyPages before StartDirtyLog: KVM is not tracking dirty pages for this VM.");
        }

        for (int slot = 0; slot < memory.Regions.Count; slot++)
        {
            MemoryRegion region = memory.Regions[slot];
            ulong pages = region.Size / GuestMemory.PageSize;
            var bitmap = new ulong[(pages + 63) / 64];
            fixed (ulong* words = bitmap)
            {
                var log = new KvmDirtyLog { Slot = (uint)slot, DirtyBitmap = (ulong)words };

                // Safety: the bitmap holds one bit per page of the slot, rounded up to whole u64 words as KVM writes it.
                KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetDirtyLog, &log), $"KVM_GET_DIRTY_LOG (slot {slot})");
            }

            for (int word = 0; word < bitmap.Length; word++)
            {
                ulong bits = bitmap[word];
                while (bits != 0)
                {
                    int bit = System.Numerics.BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    memory.MarkDirty(region.Start.Value + ((((ulong)word * 64) + (ulong)bit) * GuestMemory.PageSize));
                }
            }
        }
    }

    private void SetSlot(int slot, uint flags)
    {
        MemoryRegion region = memory.Regions[slot];
        var memoryRegion = new KvmUserspaceMemoryRegion
        {
            Slot = (uint)slot,
            Flags = flags,
            GuestPhysAddr = region.Start.Value,
            MemorySize = region.Size,
            UserspaceAddr = (ulong)region.HostAddress,
        };

        // Safety: memoryRegion is a local kvm_userspace_memory_region naming the same host range the slot already maps.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetUserMemoryRegion, &memoryRegion), $"KVM_SET_USER_MEMORY_REGION (slot {slot}, dirty logging)");
    }

    private KvmIrqchip GetIrqchip(KvmIrqchipId id)
    {
        var chip = new KvmIrqchip { ChipId = (uint)id };

        // Safety: chip is a local kvm_irqchip; KVM reads chip_id and fills the union.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.GetIrqchip, &chip), $"KVM_GET_IRQCHIP ({id})");
        return chip;
    }

    private void SetIrqchip(KvmIrqchip chip)
    {
        // Safety: chip is a local kvm_irqchip.
        KvmIoctlException.ThrowIfFailed(Libc.Ioctl(handle, KvmIoctls.SetIrqchip, &chip), $"KVM_SET_IRQCHIP ({(KvmIrqchipId)chip.ChipId})");
    }

    private static PicChipState FromPic(in KvmPicState pic) => new()
    {
        LastLevels = pic.LastIrr,
        InterruptRequest = pic.Irr,
        InterruptMask = pic.Imr,
        InService = pic.Isr,
        PriorityAdd = (byte)(pic.PriorityAdd & 7),
        VectorBase = (byte)(pic.IrqBase & 0xF8),
        ReadInService = pic.ReadRegSelect != 0,
        Poll = pic.Poll != 0,
        SpecialMask = pic.SpecialMask != 0,
        InitState = (byte)(pic.InitState & 3),
        AutoEoi = pic.AutoEoi != 0,
        RotateOnAutoEoi = pic.RotateOnAutoEoi != 0,
        SpecialFullyNested = pic.SpecialFullyNestedMode != 0,
        NeedsIcw4 = pic.Init4 != 0,
        EdgeLevelControl = pic.Elcr,
    };

    /// <summary>KVM's elcr_mask: IRQ 0, 1, 2, 8 and 13 are always edge-triggered.</summary>
    private static KvmPicState ToPic(PicChipState chip, bool master) => new()
    {
        LastIrr = chip.LastLevels,
        Irr = chip.InterruptRequest,
        Imr = chip.InterruptMask,
        Isr = chip.InService,
        PriorityAdd = chip.PriorityAdd,
        IrqBase = chip.VectorBase,
        ReadRegSelect = chip.ReadInService ? (byte)1 : (byte)0,
        Poll = chip.Poll ? (byte)1 : (byte)0,
        SpecialMask = chip.SpecialMask ? (byte)1 : (byte)0,
        InitState = chip.InitState,
        AutoEoi = chip.AutoEoi ? (byte)1 : (byte)0,
        RotateOnAutoEoi = chip.RotateOnAutoEoi ? (byte)1 : (byte)0,
        SpecialFullyNestedMode = chip.SpecialFullyNested ? (byte)1 : (byte)0,
        Init4 = chip.NeedsIcw4 ? (byte)1 : (byte)0,
        ElcrMask = master ? (byte)0xF8 : (byte)0xDE,
        Elcr = (byte)(chip.EdgeLevelControl & (master ? 0xF8 : 0xDE)),
    };

    private static IoApicState FromIoapic(in KvmIoapicState ioapic)
    {
        var state = new IoApicState { Id = ioapic.Id, RegisterSelect = ioapic.Ioregsel, LineLevels = ioapic.Irr };
        for (int pin = 0; pin < KvmConstants.IoapicPins; pin++)
        {
            state.RedirectionTable[pin] = ioapic.Redirtbl[pin];
        }

        return state;
    }

    private static KvmIoapicState ToIoapic(IoApicState state)
    {
        var ioapic = new KvmIoapicState { BaseAddress = 0xFEC0_0000, Id = state.Id, Ioregsel = state.RegisterSelect, Irr = state.LineLevels };
        for (int pin = 0; pin < KvmConstants.IoapicPins; pin++)
        {
            ioapic.Redirtbl[pin] = state.RedirectionTable[pin];
        }

        return ioapic;
    }

    /// <summary>count_load_time is the kernel's CLOCK_MONOTONIC, the clock <see cref="Stopwatch"/> reads on Linux.</summary>
    private static PitState FromPit(in KvmPitState2 pit, long now)
    {
        var state = new PitState();
        fixed (KvmPitChannelState* channels = &pit.Channel0)
        {
            for (int i = 0; i < PitState.ChannelCount; i++)
            {
                ref readonly var channel = ref channels[i];
                bool programmed = channel.Mode <= 5;
                long nowNanoseconds = (long)((UInt128)(ulong)now * 1_000_000_000 / (ulong)Stopwatch.Frequency);
                state.Channels[i] = new PitChannelState
                {
                    Count = channel.Count is 0 or > 0x10000 ? 0x10000 : (int)channel.Count,
                    NanosecondsSinceLoad = Math.Max(0, nowNanoseconds - channel.CountLoadTime),
                    Mode = programmed ? channel.Mode : 0,
                    Access = channel.RwMode is >= 1 and <= 3 ? channel.RwMode : 3,
                    Bcd = channel.Bcd != 0,
                    Gate = channel.Gate != 0,
                    Loaded = programmed,
                    ReadState = Math.Min((int)channel.ReadState, 4),
                    WriteState = Math.Min((int)channel.WriteState, 4),
                    WriteLatch = channel.WriteLatch,
                    LatchedCount = channel.LatchedCount,
                    CountLatched = Math.Min((int)channel.CountLatched, 3),
                    StatusLatched = channel.StatusLatched != 0,
                    Status = channel.Status,
                    NullCount = false,
                };
            }
        }

        state.SpeakerDataOn = false;
        return state;
    }

    private static KvmPitState2 ToPit(PitState state, long now)
    {
        var pit = new KvmPitState2();
        long nowNanoseconds = (long)((UInt128)(ulong)now * 1_000_000_000 / (ulong)Stopwatch.Frequency);
        KvmPitChannelState* channels = &pit.Channel0;
        for (int i = 0; i < PitState.ChannelCount; i++)
        {
            var channel = state.Channels[i];
            channels[i] = new KvmPitChannelState
            {
                Count = channel.Count == 0x10000 ? 0 : (uint)channel.Count,
                CountLoadTime = nowNanoseconds - channel.NanosecondsSinceLoad,
                Mode = channel.Loaded ? (byte)channel.Mode : (byte)0xFF,
                RwMode = (byte)channel.Access,
                Bcd = channel.Bcd ? (byte)1 : (byte)0,
                Gate = channel.Gate ? (byte)1 : (byte)0,
                ReadState = (byte)channel.ReadState,
                WriteState = (byte)channel.WriteState,
                WriteLatch = channel.WriteLatch,
                LatchedCount = (ushort)channel.LatchedCount,
                CountLatched = (byte)channel.CountLatched,
                StatusLatched = channel.StatusLatched ? (byte)1 : (byte)0,
                Status = channel.Status,
            };
        }

        return pit;
    }
}
