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

    /// <summary>
    /// Prints a count on COM1 for ever, a six-digit line each ("000001", "000002", ...), with a million-iteration
    /// pause loop between lines. It keeps its count in a register, so a snapshot carries it.
    /// </summary>
    public static string WriteCounter(string directory) => Write(directory, "counter.elf", a =>
    {
        a.xor(ebx, ebx);
        var next = a.CreateLabel();
        var digit = a.CreateLabel();
        var delay = a.CreateLabel();
        a.Label(ref next);
        a.inc(ebx);
        a.mov(eax, ebx);
        a.mov(ecx, 100_000);
        a.Label(ref digit);
        a.xor(edx, edx);
        a.div(ecx);
        a.mov(r8d, edx);
        a.add(al, (byte)'0');
        a.mov(dx, Com1);
        a.@out(dx, al);
        a.mov(eax, ecx);
        a.xor(edx, edx);
        a.mov(r9d, 10);
        a.div(r9d);
        a.mov(ecx, eax);
        a.mov(eax, r8d);
        a.test(ecx, ecx);
        a.jnz(digit);
        a.mov(dx, Com1);
        a.mov(al, (byte)'\n');
        a.@out(dx, al);
        a.mov(edi, 1_000_000);
        a.Label(ref delay);
        a.pause();
        a.dec(edi);
        a.jnz(delay);
        a.jmp(next);
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
