using Iced.Intel;
using Vessel.Testing.Images;
using static Iced.Intel.AssemblerRegisters;

namespace Vessel.Server.Tests;

/// <summary>Bare-metal guests the manager tests run many of, assembled at test time, and their Firecracker configs.</summary>
public static class TinyGuests
{
    private const ushort Com1 = 0x3F8;
    private const ushort LineStatus = Com1 + 5;

    /// <summary>Prints "vessel guest ready" on COM1, then halts with interrupts off: it costs no CPU while it idles.</summary>
    public static string WriteIdle(string directory) => Write(directory, "idle.elf", a =>
    {
        Print(a, "vessel guest ready\n");
        a.cli();
        var halt = a.CreateLabel();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
    });

    /// <summary>Prints "echo ready", then echoes every byte typed on COM1 back (polling the line status register).</summary>
    public static string WriteEcho(string directory) => Write(directory, "echo.elf", a =>
    {
        Print(a, "echo ready\n");
        var poll = a.CreateLabel();
        a.Label(ref poll);
        a.pause();
        a.mov(dx, LineStatus);
        a.@in(al, dx);
        a.test(al, 1);
        a.jz(poll);
        a.mov(dx, Com1);
        a.@in(al, dx);
        a.@out(dx, al);
        a.jmp(poll);
    });

    /// <summary>Firecracker's VM configuration for <paramref name="kernel"/>: 1 vCPU, 16 MiB.</summary>
    public static string Config(string kernel, int vcpus = 1, int memSizeMib = 16) =>
        $$$"""{"boot-source": {"kernel_image_path": "{{{kernel}}}", "boot_args": ""}, "machine-config": {"vcpu_count": {{{vcpus}}}, "mem_size_mib": {{{memSizeMib}}}}}""";

    private static void Print(Assembler a, string text)
    {
        a.mov(dx, Com1);
        foreach (char c in text)
        {
            a.mov(al, (byte)c);
            a.@out(dx, al);
        }
    }

    private static string Write(string directory, string name, Action<Assembler> program)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllBytes(path, Elf64Program.Build(program));
        return path;
    }
}
