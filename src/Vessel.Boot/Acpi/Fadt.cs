namespace Vessel.Boot.Acpi;

/// <summary>
/// Fixed ACPI Description Table, revision 6 (ACPI 6.5 §5.2.9, Table 5.9): 276 bytes. Vessel's PC is not hardware-reduced:
/// it has the PM1a event and control blocks (for S5 power-off through \_S5 and SLP_EN), a reset register, an SCI line,
/// and no SMI command port, which tells the OS the machine is always in ACPI mode (§4.8.2.1).
/// </summary>
public static class Fadt
{
    public const byte Revision = 6;

    /// <summary>FADT Minor Version (offset 131): ACPI 6.5.</summary>
    public const byte MinorVersion = 5;

    public const int Size = 276;

    /// <summary>PM1_EVT_LEN: PM1 status and enable registers, 2 bytes each.</summary>
    public const byte Pm1EventLength = 4;

    /// <summary>PM1_CNT_LEN: the PM1 control register.</summary>
    public const byte Pm1ControlLength = 2;

    public static byte[] Build(AcpiPlatform platform, uint facsAddress, uint dsdtAddress)
    {
        var table = new AcpiTable("FACP", Revision);
        table.AppendUInt32(facsAddress);
        table.AppendUInt32(dsdtAddress);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendUInt16(platform.SciInterrupt);
        table.AppendUInt32(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendUInt32(platform.Pm1aEventBlockPort);
        table.AppendUInt32(0);
        table.AppendUInt32(platform.Pm1aControlBlockPort);
        table.AppendUInt32(0);
        table.AppendUInt32(0);
        table.AppendUInt32(0);
        table.AppendUInt32(0);
        table.AppendUInt32(0);
        table.AppendByte(Pm1EventLength);
        table.AppendByte(Pm1ControlLength);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);

        // P_LVL2_LAT and P_LVL3_LAT above 100 and 1000 us say C2 and C3 are not supported.
        table.AppendUInt16(101);
        table.AppendUInt16(1001);
        table.AppendUInt16(0);
        table.AppendUInt16(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendByte(0);
        table.AppendUInt16((ushort)(BootArchitectureFlags.LegacyDevices | BootArchitectureFlags.Keyboard8042 | BootArchitectureFlags.VgaNotPresent));
        table.AppendByte(0);
        table.AppendUInt32((uint)(FadtFlags.WriteBackInvalidate | FadtFlags.ProcessorC1 | FadtFlags.PowerButtonIsControlMethod
            | FadtFlags.SleepButtonIsControlMethod | FadtFlags.NoFixedRtcWake | FadtFlags.ResetRegisterSupported));
        table.AppendAddress(GenericAddress.IoPort(platform.ResetRegisterPort, 8, AccessSize.Byte));
        table.AppendByte(platform.ResetValue);
        table.AppendUInt16(0);
        table.AppendByte(MinorVersion);
        table.AppendUInt64(facsAddress);
        table.AppendUInt64(dsdtAddress);
        table.AppendAddress(GenericAddress.IoPort(platform.Pm1aEventBlockPort, Pm1EventLength * 8));
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.IoPort(platform.Pm1aControlBlockPort, Pm1ControlLength * 8));
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.None);

        // SLEEP_CONTROL_REG and SLEEP_STATUS_REG are for hardware-reduced platforms only.
        table.AppendAddress(GenericAddress.None);
        table.AppendAddress(GenericAddress.None);
        table.AppendAscii("Vessel", 8);
        return table.ToArray();
    }
}
