using Vessel.Core.Snapshots;

namespace Vessel.Core.Tests.Snapshots;

public class StateReaderWriterTests
{
    private struct Registers
    {
        public ulong Rax;
        public uint Eflags;
        public ushort Cs;
    }

    [Fact]
    public void Values_written_in_a_section_read_back_in_order()
    {
        var writer = new StateWriter();
        using (writer.BeginSection("uart", 2))
        {
            writer.WriteByte(0x5A);
            writer.WriteBool(true);
            writer.WriteUInt16(0x3F8);
            writer.WriteUInt32(0xDEADBEEF);
            writer.WriteInt64(-5);
            writer.WriteString("ttyS0");
            writer.WriteStruct(new Registers { Rax = 42, Eflags = 0x202, Cs = 0x10 });
        }

        writer.WriteUInt64(7);
        var reader = new StateReader(writer.ToArray(), "test");
        var section = reader.ReadSection("uart", 3, out int version);
        Assert.Equal(2, version);
        Assert.Equal(0x5A, section.ReadByte());
        Assert.True(section.ReadBool());
        Assert.Equal(0x3F8, section.ReadUInt16());
        Assert.Equal(0xDEADBEEF, section.ReadUInt32());
        Assert.Equal(-5, section.ReadInt64());
        Assert.Equal("ttyS0", section.ReadString());
        var registers = section.ReadStruct<Registers>();
        Assert.Equal(42UL, registers.Rax);
        Assert.Equal(0x202U, registers.Eflags);
        Assert.Equal(0x10, registers.Cs);
        section.ExpectEnd();
        Assert.Equal(7UL, reader.ReadUInt64());
        Assert.True(reader.AtEnd);
    }

    [Fact]
    public void Every_truncation_of_a_section_is_refused_with_a_format_error()
    {
        var writer = new StateWriter();
        using (writer.BeginSection("pit", 1))
        {
            writer.WriteUInt64(1);
            writer.WriteString("channel");
        }

        byte[] whole = writer.ToArray();
        for (int cut = 0; cut < whole.Length; cut++)
        {
            var reader = new StateReader(whole.AsMemory(0, cut), "cut");
            Assert.Throws<SnapshotFormatException>(() =>
            {
                var section = reader.ReadSection("pit", 1, out _);
                section.ReadUInt64();
                section.ReadString();
                section.ExpectEnd();
            });
        }
    }

    [Fact]
    public void A_section_with_another_name_or_a_newer_version_is_refused_naming_it()
    {
        var writer = new StateWriter();
        using (writer.BeginSection("rtc", 4))
        {
            writer.WriteByte(1);
        }

        var wrongName = Assert.Throws<SnapshotFormatException>(() => new StateReader(writer.ToArray(), "f").ReadSection("pic", 4, out _));
        Assert.Contains("'rtc'", wrongName.Message);
        var tooNew = Assert.Throws<SnapshotFormatException>(() => new StateReader(writer.ToArray(), "f").ReadSection("rtc", 3, out _));
        Assert.Contains("version 4", tooNew.Message);
    }

    [Fact]
    public void A_byte_string_longer_than_the_data_is_refused_before_allocating()
    {
        var writer = new StateWriter();
        writer.WriteInt32(int.MaxValue);
        var error = Assert.Throws<SnapshotFormatException>(() => new StateReader(writer.ToArray(), "f").ReadBytes());
        Assert.Contains("claims", error.Message);
    }

    [Fact]
    public void Unconsumed_bytes_at_the_end_of_a_section_are_refused()
    {
        var writer = new StateWriter();
        using (writer.BeginSection("serial", 1))
        {
            writer.WriteUInt32(1);
            writer.WriteUInt32(2);
        }

        var section = new StateReader(writer.ToArray(), "f").ReadSection("serial", 1, out _);
        section.ReadUInt32();
        Assert.Throws<SnapshotFormatException>(section.ExpectEnd);
    }
}
