using System.Runtime.InteropServices;
using System.Text;
using Vessel.Vmm.Configuration;
using Vessel.X86;

namespace Vessel.Cli.Commands;

/// <summary>
/// The .NET runtime setting a guest on the software CPU wants and a short-lived or KVM-backed VMM does not: the runtime
/// promotes hot methods to optimized code only after 100 ms with no new method compiled, which a booting guest never
/// leaves (it keeps reaching new instruction handlers and device paths), so the CPU's own methods run unoptimized for
/// much of a boot. <c>DOTNET_TC_CallCountingDelayMs=0</c> removes the wait: the Debian boot takes 15-20% less CPU
/// (docs/performance.md), while the runtime's start costs about 100 ms more CPU, which is why it is set only where a
/// guest will run on the software CPU: <c>vessel run</c> and <c>vessel demo</c> booting from the command line, and the
/// VMMs of a <c>vessel serve</c> whose accelerator is the software CPU. The runtime reads it from the environment only,
/// at start, so a booting verb starts itself again with it set (same PID, arguments and descriptors).
/// </summary>
internal static unsafe partial class SoftwareCpuRuntime
{
    public const string Variable = "DOTNET_TC_CallCountingDelayMs";

    /// <summary>Whether <paramref name="requested"/> resolves to the software CPU on this host (a refusal is left for the real selection to report).</summary>
    public static bool WillRunOnSoftwareCpu(AcceleratorKind requested)
    {
        try
        {
            return MachineLauncher.SelectAccelerator(requested).Accelerator is SoftwareAccelerator;
        }
        catch (ConfigurationException)
        {
            return false;
        }
    }

    /// <summary>
    /// Replaces this process with itself, the variable set, unless it already is set (then or on any failure it
    /// returns and the caller goes on as it is); <c>VESSEL_NO_REEXEC</c> keeps the process as started.
    /// </summary>
    public static void RestartWithPromptTiering()
    {
        // Only the vessel program restarts itself: tests run the CLI inside their own host process.
        if (Environment.GetEnvironmentVariable(Variable) != null || Environment.GetEnvironmentVariable("VESSEL_NO_REEXEC") != null
            || System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name != "vessel")
        {
            return;
        }

        string? executable = Environment.ProcessPath;
        string[] arguments = Environment.GetCommandLineArgs();
        if (executable == null || arguments.Length == 0)
        {
            return;
        }

        // Under the dotnet host the first argument is the application's dll, which the host needs again.
        bool underDotnet = Path.GetFileNameWithoutExtension(executable) == "dotnet";
        var argv = new List<string> { executable };
        argv.AddRange(underDotnet ? arguments : arguments.Skip(1));
        var environment = new List<string> { $"{Variable}=0" };
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            environment.Add($"{entry.Key}={entry.Value}");
        }

        Console.Out.Flush();
        Console.Error.Flush();
        byte** argvBlock = NullTerminated(argv);
        byte** environmentBlock = NullTerminated(environment);
        byte* path = Utf8(executable);
        Execve(path, argvBlock, environmentBlock);

        // Only reached when execve failed: run on, as started (the memory above is small and freed with the process).
    }

    private static byte** NullTerminated(List<string> values)
    {
        var block = (byte**)NativeMemory.AllocZeroed((nuint)(values.Count + 1), (nuint)sizeof(byte*));
        for (int i = 0; i < values.Count; i++)
        {
            block[i] = Utf8(values[i]);
        }

        return block;
    }

    private static byte* Utf8(string value)
    {
        int length = Encoding.UTF8.GetByteCount(value);
        var bytes = (byte*)NativeMemory.AllocZeroed((nuint)length + 1);
        Encoding.UTF8.GetBytes(value, new Span<byte>(bytes, length));
        return bytes;
    }

    [LibraryImport("libc", EntryPoint = "execve", SetLastError = true)]
    private static partial int Execve(byte* path, byte** argv, byte** environment);
}
