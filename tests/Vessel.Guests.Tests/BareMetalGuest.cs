using Assembler = Iced.Intel.Assembler;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Testing.Images;
using Vessel.Testing.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.X86;

namespace Vessel.Guests.Tests;

/// <summary>Boots an assembled ELF64 program through the same builder and run loop as <c>vessel run</c>.</summary>
public static class BareMetalGuest
{
    public static (MachineStop Stop, string Console) Run(Action<Assembler> program, int vcpus = 1, string memory = "64M", IMachineLog? log = null)
    {
        string path = Elf64Program.WriteTemporary(program);
        try
        {
            var config = new MachineConfig
            {
                KernelPath = path,
                MemoryBytes = MemorySize.Parse(memory),
                VcpuCount = vcpus,
                Accelerator = AcceleratorKind.Software,
            };
            var console = new CapturingSerialOutput();
            using var built = MachineBuilder.Build(config, new SoftwareAccelerator(), console, log ?? NullMachineLog.Instance);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var stop = built.Machine.Run(timeout.Token);
            return (stop, console.Text);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
