namespace Vessel.Devices.Serial;

/// <summary>Where a UART's transmitted bytes go on the host (stdout, a file, a socket, a test's buffer).</summary>
public interface ISerialOutput
{
    /// <summary>Called with the UART's lock held, on the vCPU thread that wrote THR.</summary>
    void Write(ReadOnlySpan<byte> data);

    void Flush();
}
