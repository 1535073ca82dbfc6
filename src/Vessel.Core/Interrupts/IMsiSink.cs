namespace Vessel.Core.Interrupts;

/// <summary>Delivers a message-signalled interrupt (PCI MSI / MSI-X) to the accelerator's interrupt controllers.</summary>
public interface IMsiSink
{
    void SendMsi(ulong address, uint data);
}
