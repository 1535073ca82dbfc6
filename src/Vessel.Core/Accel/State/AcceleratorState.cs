using Vessel.Core.Snapshots;

namespace Vessel.Core.Accel.State;

/// <summary>
/// The accelerator's part of a snapshot, parsed: every vCPU, the IOAPIC, the PIC pair and the PIT. Both accelerators
/// write it with <see cref="Write"/> and read it with <see cref="Read"/>, which checks every field before returning, so
/// a VM applies a restore only once the whole of it is known to be good.
/// </summary>
/// <remarks>
/// Sections, in order: "accelerator" (the writer's kind, the vCPU count), one "vcpu" per vCPU, "ioapic", "pic", "pit".
/// Layouts are documented in docs/architecture.md ("Accelerator state"); bump a section's version when it changes.
/// </remarks>
public sealed class AcceleratorState
{
    public const int Version = 1;

    /// <summary>"software" or "kvm": informational, a restore accepts either.</summary>
    public required string Kind { get; init; }

    /// <summary>
    /// KVM's kvmclock at the save, in nanoseconds (KVM_GET_CLOCK), restored with KVM_SET_CLOCK so a paravirtual clock
    /// resumes monotonic on KVM. Zero from the software CPU, whose guest time is the machine's VM clock, saved and
    /// restored by the machine itself.
    /// </summary>
    public long ClockNanoseconds { get; init; }

    public required IReadOnlyList<VcpuState> Vcpus { get; init; }

    public required IoApicState IoApic { get; init; }

    public required PicState Pic { get; init; }

    public required PitState Pit { get; init; }

    /// <summary>The most MSRs a vCPU section may carry; more means a corrupted count.</summary>
    public const int MaxModelSpecificRegisters = 4096;

    /// <summary>The largest XSAVE area accepted (KVM_GET_XSAVE2 areas with AMX are about 11 KiB).</summary>
    public const int MaxXsaveArea = 64 * 1024;

    public void Write(StateWriter writer)
    {
        using (writer.BeginSection("accelerator", Version))
        {
            writer.WriteString(Kind);
            writer.WriteInt32(Vcpus.Count);
            writer.WriteInt64(ClockNanoseconds);
        }

        for (int i = 0; i < Vcpus.Count; i++)
        {
            using (writer.BeginSection("vcpu", Version))
            {
                writer.WriteInt32(i);
                WriteVcpu(writer, Vcpus[i]);
            }
        }

        using (writer.BeginSection("ioapic", Version))
        {
            WriteIoApic(writer, IoApic);
        }

        using (writer.BeginSection("pic", Version))
        {
            WritePicChip(writer, Pic.Master);
            WritePicChip(writer, Pic.Slave);
        }

        using (writer.BeginSection("pit", Version))
        {
            WritePit(writer, Pit);
        }
    }

    /// <summary>Reads and validates every section; <paramref name="vcpuCount"/> is how many vCPUs the restoring VM has.</summary>
    /// <exception cref="SnapshotFormatException">The data is truncated, corrupted, or for a different number of vCPUs.</exception>
    public static AcceleratorState Read(StateReader reader, int vcpuCount)
    {
        var header = reader.ReadSection("accelerator", Version, out _);
        string kind = header.ReadString();
        int count = header.ReadInt32();
        long clock = header.ReadInt64();
        header.ExpectEnd();
        if (count != vcpuCount)
        {
            throw header.Malformed($"the snapshot has {count} vCPUs and this VM {vcpuCount}; restore into a VM configured with {count} vCPUs");
        }

        var vcpus = new VcpuState[count];
        for (int i = 0; i < count; i++)
        {
            var section = reader.ReadSection("vcpu", Version, out _);
            int index = section.ReadInt32();
            if (index != i)
            {
                throw section.Malformed($"vCPU section {i} is for vCPU {index}");
            }

            vcpus[i] = ReadVcpu(section);
            section.ExpectEnd();
        }

        var ioapicSection = reader.ReadSection("ioapic", Version, out _);
        var ioapic = ReadIoApic(ioapicSection);
        ioapicSection.ExpectEnd();

        var picSection = reader.ReadSection("pic", Version, out _);
        var pic = new PicState { Master = ReadPicChip(picSection), Slave = ReadPicChip(picSection) };
        picSection.ExpectEnd();

        var pitSection = reader.ReadSection("pit", Version, out _);
        var pit = ReadPit(pitSection);
        pitSection.ExpectEnd();

        return new AcceleratorState { Kind = kind, ClockNanoseconds = clock, Vcpus = vcpus, IoApic = ioapic, Pic = pic, Pit = pit };
    }

    public static void WriteVcpu(StateWriter writer, VcpuState state)
    {
        foreach (ulong register in state.GeneralRegisters)
        {
            writer.WriteUInt64(register);
        }

        writer.WriteUInt64(state.Rip);
        writer.WriteUInt64(state.Rflags);
        foreach (var segment in new[] { state.Es, state.Cs, state.Ss, state.Ds, state.Fs, state.Gs, state.Ldtr, state.Tr })
        {
            WriteSegment(writer, segment);
        }

        WriteTable(writer, state.Gdtr);
        WriteTable(writer, state.Idtr);
        writer.WriteUInt64(state.Cr0);
        writer.WriteUInt64(state.Cr2);
        writer.WriteUInt64(state.Cr3);
        writer.WriteUInt64(state.Cr4);
        writer.WriteUInt64(state.Cr8);
        writer.WriteUInt64(state.Efer);
        var debug = state.DebugRegisters;
        writer.WriteUInt64(debug.Dr0);
        writer.WriteUInt64(debug.Dr1);
        writer.WriteUInt64(debug.Dr2);
        writer.WriteUInt64(debug.Dr3);
        writer.WriteUInt64(debug.Dr6);
        writer.WriteUInt64(debug.Dr7);
        writer.WriteInt32(state.ModelSpecificRegisters.Count);
        foreach (var msr in state.ModelSpecificRegisters)
        {
            writer.WriteUInt32(msr.Index);
            writer.WriteUInt64(msr.Value);
        }

        writer.WriteBytes(state.Fxsave);
        writer.WriteUInt64(state.Xcr0);
        writer.WriteBytes(state.XsaveArea);
        writer.WriteUInt64(state.TimeStampCounter);
        writer.WriteUInt64(state.LocalApic.ApicBase);
        writer.WriteBytes(state.LocalApic.RegisterPage);
        writer.WriteUInt64(state.LocalApic.TscDeadline);
        var events = state.Events;
        writer.WriteBool(events.Exception is not null);
        var exception = events.Exception ?? default;
        writer.WriteByte(exception.Vector);
        writer.WriteBool(exception.HasErrorCode);
        writer.WriteUInt32(exception.ErrorCode);
        writer.WriteBool(events.InjectedInterrupt is not null);
        writer.WriteByte(events.InjectedInterrupt ?? 0);
        writer.WriteByte((byte)events.PendingNmis);
        writer.WriteBool(events.NmiMasked);
        writer.WriteByte((byte)events.Shadow);
        writer.WriteByte(events.SipiVector);
        writer.WriteByte((byte)state.MpState);
    }

    public static VcpuState ReadVcpu(StateReader reader)
    {
        var registers = new ulong[VcpuState.GeneralRegisterCount];
        for (int i = 0; i < registers.Length; i++)
        {
            registers[i] = reader.ReadUInt64();
        }

        var state = new VcpuState { GeneralRegisters = registers };
        state.Rip = reader.ReadUInt64();
        state.Rflags = reader.ReadUInt64();
        state.Es = ReadSegment(reader);
        state.Cs = ReadSegment(reader);
        state.Ss = ReadSegment(reader);
        state.Ds = ReadSegment(reader);
        state.Fs = ReadSegment(reader);
        state.Gs = ReadSegment(reader);
        state.Ldtr = ReadSegment(reader);
        state.Tr = ReadSegment(reader);
        state.Gdtr = ReadTable(reader);
        state.Idtr = ReadTable(reader);
        state.Cr0 = reader.ReadUInt64();
        state.Cr2 = reader.ReadUInt64();
        state.Cr3 = reader.ReadUInt64();
        state.Cr4 = reader.ReadUInt64();
        state.Cr8 = reader.ReadUInt64();
        if (state.Cr8 > 0xF)
        {
            throw reader.Malformed($"CR8 is {state.Cr8:X}, above 0xF");
        }

        state.Efer = reader.ReadUInt64();
        state.DebugRegisters = new DebugRegisterState(
            reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64(), reader.ReadUInt64());
        int msrCount = reader.ReadInt32();
        if (msrCount < 0 || msrCount > MaxModelSpecificRegisters)
        {
            throw reader.Malformed($"the MSR count is {msrCount}, outside 0 to {MaxModelSpecificRegisters}");
        }

        var msrs = new ModelSpecificRegisterValue[msrCount];
        for (int i = 0; i < msrCount; i++)
        {
            msrs[i] = new ModelSpecificRegisterValue(reader.ReadUInt32(), reader.ReadUInt64());
        }

        state.ModelSpecificRegisters = msrs;
        state.Fxsave = ReadExactly(reader, FxsaveLayout.Size, "the FXSAVE image");
        state.Xcr0 = reader.ReadUInt64();
        if ((state.Xcr0 & 1) == 0)
        {
            throw reader.Malformed($"XCR0 is {state.Xcr0:X}: bit 0 (x87) must be set");
        }

        var xsave = reader.ReadBytes();
        if (xsave.Length > MaxXsaveArea || (xsave.Length != 0 && xsave.Length < FxsaveLayout.Size + 64))
        {
            throw reader.Malformed($"the XSAVE area is {xsave.Length} bytes; expected none, or 576 to {MaxXsaveArea}");
        }

        state.XsaveArea = xsave.ToArray();
        state.TimeStampCounter = reader.ReadUInt64();
        state.LocalApic = new LocalApicState
        {
            ApicBase = reader.ReadUInt64(),
            RegisterPage = ReadExactly(reader, LocalApicState.RegisterPageSize, "the local APIC register page"),
            TscDeadline = reader.ReadUInt64(),
        };
        bool hasException = reader.ReadBool();
        byte vector = reader.ReadByte();
        bool hasErrorCode = reader.ReadBool();
        uint errorCode = reader.ReadUInt32();
        if (hasException && vector >= 32)
        {
            throw reader.Malformed($"the pending exception's vector is {vector}, not an exception (0-31)");
        }

        bool hasInterrupt = reader.ReadBool();
        byte interrupt = reader.ReadByte();
        int nmis = reader.ReadByte();
        if (nmis > 2)
        {
            throw reader.Malformed($"{nmis} NMIs are pending; at most 2 can be");
        }

        bool nmiMasked = reader.ReadBool();
        byte shadow = reader.ReadByte();
        if (shadow > (byte)(InterruptShadow.AfterSti | InterruptShadow.AfterStackLoad))
        {
            throw reader.Malformed($"the interrupt shadow is {shadow}, not a combination of STI (2) and MOV SS (1)");
        }

        byte sipi = reader.ReadByte();
        state.Events = new VcpuEventState
        {
            Exception = hasException ? new PendingException(vector, hasErrorCode, errorCode) : null,
            InjectedInterrupt = hasInterrupt ? interrupt : null,
            PendingNmis = nmis,
            NmiMasked = nmiMasked,
            Shadow = (InterruptShadow)shadow,
            SipiVector = sipi,
        };
        byte mp = reader.ReadByte();
        if (!Enum.IsDefined((VcpuMpState)mp))
        {
            throw reader.Malformed($"the MP state is {mp}; expected 0 (runnable), 1 (waiting for SIPI) or 2 (halted)");
        }

        state.MpState = (VcpuMpState)mp;
        return state;
    }

    public static void WriteIoApic(StateWriter writer, IoApicState state)
    {
        writer.WriteUInt32(state.Id);
        writer.WriteUInt32(state.RegisterSelect);
        writer.WriteUInt32(state.LineLevels);
        writer.WriteInt32(state.RedirectionTable.Length);
        foreach (ulong entry in state.RedirectionTable)
        {
            writer.WriteUInt64(entry);
        }
    }

    public static IoApicState ReadIoApic(StateReader reader)
    {
        var state = new IoApicState { Id = reader.ReadUInt32(), RegisterSelect = reader.ReadUInt32(), LineLevels = reader.ReadUInt32() };
        int pins = reader.ReadInt32();
        if (pins != IoApicState.PinCount)
        {
            throw reader.Malformed($"the IOAPIC has {pins} redirection entries; this Vessel's has {IoApicState.PinCount}");
        }

        for (int i = 0; i < pins; i++)
        {
            state.RedirectionTable[i] = reader.ReadUInt64();
        }

        return state;
    }

    public static void WritePicChip(StateWriter writer, PicChipState chip)
    {
        writer.WriteByte(chip.LastLevels);
        writer.WriteByte(chip.InterruptRequest);
        writer.WriteByte(chip.InterruptMask);
        writer.WriteByte(chip.InService);
        writer.WriteByte(chip.PriorityAdd);
        writer.WriteByte(chip.VectorBase);
        writer.WriteBool(chip.ReadInService);
        writer.WriteBool(chip.Poll);
        writer.WriteBool(chip.SpecialMask);
        writer.WriteByte(chip.InitState);
        writer.WriteBool(chip.AutoEoi);
        writer.WriteBool(chip.RotateOnAutoEoi);
        writer.WriteBool(chip.SpecialFullyNested);
        writer.WriteBool(chip.NeedsIcw4);
        writer.WriteBool(chip.SingleMode);
        writer.WriteByte(chip.EdgeLevelControl);
    }

    public static PicChipState ReadPicChip(StateReader reader)
    {
        var chip = new PicChipState
        {
            LastLevels = reader.ReadByte(),
            InterruptRequest = reader.ReadByte(),
            InterruptMask = reader.ReadByte(),
            InService = reader.ReadByte(),
            PriorityAdd = reader.ReadByte(),
            VectorBase = reader.ReadByte(),
            ReadInService = reader.ReadBool(),
            Poll = reader.ReadBool(),
            SpecialMask = reader.ReadBool(),
            InitState = reader.ReadByte(),
            AutoEoi = reader.ReadBool(),
            RotateOnAutoEoi = reader.ReadBool(),
            SpecialFullyNested = reader.ReadBool(),
            NeedsIcw4 = reader.ReadBool(),
            SingleMode = reader.ReadBool(),
            EdgeLevelControl = reader.ReadByte(),
        };
        if (chip.PriorityAdd > 7 || chip.InitState > 3 || (chip.VectorBase & 7) != 0)
        {
            throw reader.Malformed($"a PIC has priority rotation {chip.PriorityAdd}, init state {chip.InitState}, vector base {chip.VectorBase:X2}; expected 0-7, 0-3, a multiple of 8");
        }

        return chip;
    }

    public static void WritePit(StateWriter writer, PitState state)
    {
        writer.WriteBool(state.SpeakerDataOn);
        writer.WriteInt32(state.Channels.Length);
        foreach (var channel in state.Channels)
        {
            writer.WriteInt32(channel.Count);
            writer.WriteInt64(channel.NanosecondsSinceLoad);
            writer.WriteByte((byte)channel.Mode);
            writer.WriteByte((byte)channel.Access);
            writer.WriteBool(channel.Bcd);
            writer.WriteBool(channel.Gate);
            writer.WriteBool(channel.Loaded);
            writer.WriteByte((byte)channel.ReadState);
            writer.WriteByte((byte)channel.WriteState);
            writer.WriteByte(channel.WriteLatch);
            writer.WriteUInt16((ushort)channel.LatchedCount);
            writer.WriteByte((byte)channel.CountLatched);
            writer.WriteBool(channel.StatusLatched);
            writer.WriteByte(channel.Status);
            writer.WriteBool(channel.NullCount);
        }
    }

    public static PitState ReadPit(StateReader reader)
    {
        var state = new PitState { SpeakerDataOn = reader.ReadBool() };
        int count = reader.ReadInt32();
        if (count != PitState.ChannelCount)
        {
            throw reader.Malformed($"the PIT has {count} channels, not {PitState.ChannelCount}");
        }

        for (int i = 0; i < count; i++)
        {
            var channel = new PitChannelState
            {
                Count = reader.ReadInt32(),
                NanosecondsSinceLoad = reader.ReadInt64(),
                Mode = reader.ReadByte(),
                Access = reader.ReadByte(),
                Bcd = reader.ReadBool(),
                Gate = reader.ReadBool(),
                Loaded = reader.ReadBool(),
                ReadState = reader.ReadByte(),
                WriteState = reader.ReadByte(),
                WriteLatch = reader.ReadByte(),
                LatchedCount = reader.ReadUInt16(),
                CountLatched = reader.ReadByte(),
                StatusLatched = reader.ReadBool(),
                Status = reader.ReadByte(),
                NullCount = reader.ReadBool(),
            };
            if (channel.Count is < 1 or > 0x10000 || channel.NanosecondsSinceLoad < 0 || channel.Mode > 5 || channel.Access > 3
                || channel.ReadState > 4 || channel.WriteState > 4 || channel.CountLatched > 3)
            {
                throw reader.Malformed($"PIT channel {i} has count {channel.Count}, {channel.NanosecondsSinceLoad} ns since load, mode {channel.Mode}, access {channel.Access}, read/write state {channel.ReadState}/{channel.WriteState}, latch {channel.CountLatched}; one is out of range");
            }

            state.Channels[i] = channel;
        }

        return state;
    }

    private static void WriteSegment(StateWriter writer, SegmentState segment)
    {
        writer.WriteUInt16(segment.Selector);
        writer.WriteUInt64(segment.Base);
        writer.WriteUInt32(segment.Limit);
        writer.WriteUInt16((ushort)segment.Attributes);
    }

    private static SegmentState ReadSegment(StateReader reader) =>
        new(reader.ReadUInt16(), reader.ReadUInt64(), reader.ReadUInt32(), (SegmentAttributes)reader.ReadUInt16());

    private static void WriteTable(StateWriter writer, DescriptorTableState table)
    {
        writer.WriteUInt64(table.Base);
        writer.WriteUInt16(table.Limit);
    }

    private static DescriptorTableState ReadTable(StateReader reader) => new(reader.ReadUInt64(), reader.ReadUInt16());

    private static byte[] ReadExactly(StateReader reader, int length, string what)
    {
        var bytes = reader.ReadBytes();
        if (bytes.Length != length)
        {
            throw reader.Malformed($"{what} is {bytes.Length} bytes, expected {length}");
        }

        return bytes.ToArray();
    }
}
