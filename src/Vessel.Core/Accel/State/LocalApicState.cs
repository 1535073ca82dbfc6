using System.Buffers.Binary;

namespace Vessel.Core.Accel.State;

/// <summary>
/// A local APIC in KVM's kvm_lapic_state terms: IA32_APIC_BASE and the 1 KiB xAPIC register page (SDM 3A Table 11-1;
/// the ID in bits 31:24 even in x2APIC mode), whose timer current count (0x390) holds the counts left when saved, so a
/// restore resumes the countdown where it stopped; and IA32_TSC_DEADLINE.
/// </summary>
public sealed class LocalApicState
{
    public const int RegisterPageSize = 1024;

    /// <summary>TMCCT: the timer's current count.</summary>
    public const int TimerCurrentCountOffset = 0x390;

    public ulong ApicBase { get; set; } = 0xFEE0_0000 | (1UL << 11);

    public byte[] RegisterPage { get; set; } = new byte[RegisterPageSize];

    public ulong TscDeadline { get; set; }

    public uint Register(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(RegisterPage.AsSpan(offset));

    public void SetRegister(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(RegisterPage.AsSpan(offset), value);
}
