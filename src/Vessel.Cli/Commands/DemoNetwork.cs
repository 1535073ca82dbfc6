using Vessel.Devices.Networking;
using Vessel.Vmm.Configuration;

namespace Vessel.Cli.Commands;

/// <summary>
/// The demo's network: one interface on user networking (passt), which the guest's init configures by DHCP (the demo adds
/// <c>ip=dhcp</c> to the kernel command line), so <c>wget</c> works from the guest's shell with no set-up; none, with a
/// one-line note, where passt is not installed, so the demo still boots.
/// </summary>
public static class DemoNetwork
{
    public static IReadOnlyList<NetworkInterfaceConfig> Interfaces()
    {
        if (Passt.FindExecutable() == null)
        {
            Console.Error.WriteLine("vessel: the demo runs without a network: user networking needs passt (apt-get install passt).");
            return [];
        }

        return [new NetworkInterfaceConfig { Id = "net0", Backend = NetworkBackendKind.User }];
    }
}
