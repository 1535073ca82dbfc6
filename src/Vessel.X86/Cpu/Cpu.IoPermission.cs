namespace Vessel.X86.Cpu;

public sealed unsafe partial class Cpu
{
    private const ulong IoMapBaseOffset = 102;

    /// <summary>
    /// Protected-mode I/O permission: CPL &lt;= IOPL, or every port's bit clear in the TSS I/O bitmap (SDM 1 §19.5).
    /// Raises #GP(0) and returns false when the access is denied; an access allowed is checked against I/O breakpoints.
    /// </summary>
    public bool CheckIoPermission(ushort port, int size)
    {
        if (!IoPermitted(port, size))
        {
            return false;
        }

        if (ioBreakpoints != 0)
        {
            NoteIoAccess(port, size);
        }

        return true;
    }

    private bool IoPermitted(ushort port, int size)
    {
        if (!ProtectedMode || CurrentPrivilegeLevel <= (int)((State->Rflags >> 12) & 3))
        {
            return true;
        }

        if (Tr.Limit < IoMapBaseOffset + 1 || !TryReadSystem(Tr.Base + IoMapBaseOffset, out ushort mapBase))
        {
            RaiseGeneralProtection(0);
            return false;
        }

        ulong byteOffset = mapBase + (ulong)(port >> 3);
        if (byteOffset + 1 > Tr.Limit || !TryReadSystem(Tr.Base + byteOffset, out ushort bitmap))
        {
            RaiseGeneralProtection(0);
            return false;
        }

        int mask = ((1 << size) - 1) << (port & 7);
        if ((bitmap & mask) != 0)
        {
            RaiseGeneralProtection(0);
            return false;
        }

        return true;
    }
}
