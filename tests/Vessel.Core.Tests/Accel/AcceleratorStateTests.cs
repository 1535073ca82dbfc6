using Vessel.Core.Accel;
using Vessel.Core.Accel.State;
using Vessel.Core.Snapshots;

namespace Vessel.Core.Tests.Accel;

public class AcceleratorStateTests
{
    [Fact]
    public void Every_field_written_reads_back_and_writes_the_same_bytes_again()
    {
        var state = Sample();
        var first = Write(state);

        var read = AcceleratorState.Read(new StateReader(first, "test"), 2);

        Assert.Equal(first, Write(read));
        var vcpu = read.Vcpus[1];
        Assert.Equal(0x1234UL, vcpu.GeneralRegisters[13]);
        Assert.Equal(SegmentState.FlatCode64(0x08), vcpu.Cs);
        Assert.Equal(new ModelSpecificRegisterValue(0xC000_0082, 0xFFFF_FFFF_8100_0000), vcpu.ModelSpecificRegisters[0]);
        Assert.Equal(new PendingException(14, true, 2), vcpu.Events.Exception);
        Assert.Equal((byte)0x41, vcpu.Events.InjectedInterrupt);
        Assert.Equal(InterruptShadow.AfterSti, vcpu.Events.Shadow);
        Assert.Equal(VcpuMpState.Halted, vcpu.MpState);
        Assert.Equal(0x20041u, vcpu.LocalApic.Register(0x320));
        Assert.Equal(0xC0FFEEUL, read.IoApic.RedirectionTable[23]);
        Assert.Equal((byte)0x70, read.Pic.Slave.VectorBase);
        Assert.Equal(12345L, read.Pit.Channels[0].NanosecondsSinceLoad);
        Assert.Equal(99L, read.ClockNanoseconds);
    }

    [Fact]
    public void A_state_for_a_different_number_of_vcpus_is_refused_naming_both()
    {
        var data = Write(Sample());

        var error = Assert.Throws<SnapshotFormatException>(() => AcceleratorState.Read(new StateReader(data, "vm.snap"), 1));

        Assert.Contains("2 vCPUs and this VM 1", error.Message);
        Assert.Contains("vm.snap", error.Message);
    }

    [Theory]
    [InlineData("mp")]
    [InlineData("nmis")]
    [InlineData("shadow")]
    [InlineData("exception")]
    [InlineData("xcr0")]
    [InlineData("cr8")]
    [InlineData("fxsave")]
    [InlineData("pit-count")]
    [InlineData("pit-mode")]
    [InlineData("pic-init")]
    public void A_value_out_of_its_range_is_refused_with_a_snapshot_error(string field)
    {
        var state = Sample();
        var vcpu = state.Vcpus[0];
        switch (field)
        {
            case "mp": vcpu.MpState = (VcpuMpState)7; break;
            case "nmis": vcpu.Events = vcpu.Events with { PendingNmis = 3 }; break;
            case "shadow": vcpu.Events = vcpu.Events with { Shadow = (InterruptShadow)4 }; break;
            case "exception": vcpu.Events = vcpu.Events with { Exception = new PendingException(32, false, 0) }; break;
            case "xcr0": vcpu.Xcr0 = 2; break;
            case "cr8": vcpu.Cr8 = 16; break;
            case "fxsave": vcpu.Fxsave = new byte[511]; break;
            case "pit-count": state.Pit.Channels[1] = state.Pit.Channels[1] with { Count = 0x10001 }; break;
            case "pit-mode": state.Pit.Channels[2] = state.Pit.Channels[2] with { Mode = 6 }; break;
            case "pic-init": state.Pic.Master = state.Pic.Master with { InitState = 4 }; break;
        }

        var data = Write(state);

        Assert.Throws<SnapshotFormatException>(() => AcceleratorState.Read(new StateReader(data, "test"), 2));
    }

    [Fact]
    public void Every_truncation_and_every_flipped_byte_gives_a_state_or_a_snapshot_error_never_another_exception()
    {
        var data = Write(Sample());
        for (int length = 0; length < data.Length; length++)
        {
            Assert.Throws<SnapshotFormatException>(() => AcceleratorState.Read(new StateReader(data.AsMemory(0, length), "test"), 2));
        }

        for (int offset = 0; offset < data.Length; offset++)
        {
            var corrupted = (byte[])data.Clone();
            corrupted[offset] ^= 0xFF;
            try
            {
                AcceleratorState.Read(new StateReader(corrupted, "test"), 2);
            }
            catch (SnapshotFormatException)
            {
            }
        }
    }

    private static byte[] Write(AcceleratorState state)
    {
        var writer = new StateWriter();
        state.Write(writer);
        return writer.ToArray();
    }

    private static AcceleratorState Sample()
    {
        var vcpus = new VcpuState[2];
        for (int i = 0; i < vcpus.Length; i++)
        {
            var vcpu = new VcpuState
            {
                Rip = 0x10_0000 + (ulong)i,
                Rflags = 0x202,
                Cs = SegmentState.FlatCode64(0x08),
                Ds = SegmentState.FlatData(0x10),
                Ss = SegmentState.FlatData(0x10),
                Tr = SegmentState.BusyTss(0x18, 0x3000, 0x67),
                Gdtr = new DescriptorTableState(0x500, 0x27),
                Idtr = new DescriptorTableState(0x1000, 0xFFF),
                Cr0 = 0x8000_0031,
                Cr3 = 0x9000,
                Cr4 = 0x20,
                Cr8 = 3,
                Efer = 0xD01,
                ModelSpecificRegisters = [new(0xC000_0082, 0xFFFF_FFFF_8100_0000), new(0x277, 0x0007_0406_0007_0406)],
                TimeStampCounter = 123_456_789,
                XsaveArea = new byte[4096],
                Xcr0 = 3,
                Events = new VcpuEventState
                {
                    Exception = new PendingException(14, true, 2),
                    InjectedInterrupt = 0x41,
                    PendingNmis = 1,
                    NmiMasked = true,
                    Shadow = InterruptShadow.AfterSti,
                    SipiVector = 0x9A,
                },
                MpState = VcpuMpState.Halted,
            };
            vcpu.GeneralRegisters[13] = 0x1234;
            vcpu.LocalApic.SetRegister(0x320, 0x20041);
            vcpus[i] = vcpu;
        }

        var ioapic = new IoApicState { Id = 1, RegisterSelect = 0x10, LineLevels = 1 };
        ioapic.RedirectionTable[23] = 0xC0FFEE;
        var pit = new PitState();
        pit.Channels[0] = new PitChannelState { Count = 0x10000, NanosecondsSinceLoad = 12345, Mode = 2, Loaded = true, Gate = true };
        return new AcceleratorState
        {
            Kind = "test",
            ClockNanoseconds = 99,
            Vcpus = vcpus,
            IoApic = ioapic,
            Pic = new PicState { Master = new PicChipState { VectorBase = 0x08, InterruptMask = 0xFB }, Slave = new PicChipState { VectorBase = 0x70 } },
            Pit = pit,
        };
    }
}
