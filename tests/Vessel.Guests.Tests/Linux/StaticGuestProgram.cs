using System.Diagnostics;
using System.IO.Compression;
using System.Text;

namespace Vessel.Guests.Tests.Linux;

/// <summary>
/// A small C program a guest test needs and busybox lacks, built here with <c>gcc -static</c> and appended to the cached
/// initramfs as a second gzip'd newc cpio archive: the kernel unpacks concatenated archives in order, so the program
/// lands in the guest's root beside busybox.
/// </summary>
public static class StaticGuestProgram
{
    /// <summary>Null when gcc and a static libc are here; otherwise the sentence a skipped test prints.</summary>
    public static string? SkipReason()
    {
        if (FindOnPath("gcc") == null)
        {
            return "gcc is not installed, and the test builds its guest program with it (apt-get install gcc).";
        }

        if (!File.Exists("/usr/lib/x86_64-linux-gnu/libc.a") && !File.Exists("/usr/lib64/libc.a") && !File.Exists("/usr/lib/libc.a"))
        {
            return "no static C library (libc.a), which gcc -static needs for the guest program (apt-get install libc6-dev).";
        }

        return null;
    }

    /// <summary>
    /// Compiles <paramref name="source"/> into <paramref name="folder"/> and writes an initramfs there that is
    /// <paramref name="baseInitramfs"/> followed by an archive holding the program as <c>/bin/NAME</c>; returns its path.
    /// </summary>
    public static string BuildInitramfs(string baseInitramfs, string name, string source, string folder)
    {
        string sourcePath = Path.Combine(folder, name + ".c");
        string binaryPath = Path.Combine(folder, name);
        File.WriteAllText(sourcePath, source);
        var start = new ProcessStartInfo("gcc") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[] { "-static", "-O2", "-Wall", "-Werror", "-o", binaryPath, sourcePath })
        {
            start.ArgumentList.Add(argument);
        }

        using (var gcc = Process.Start(start)!)
        {
            string errors = gcc.StandardError.ReadToEnd();
            gcc.StandardOutput.ReadToEnd();
            gcc.WaitForExit();
            if (gcc.ExitCode != 0)
            {
                throw new InvalidOperationException($"gcc could not build the guest program {name}:\n{errors}");
            }
        }

        string initramfs = Path.Combine(folder, "initramfs.cpio.gz");
        using (var output = File.Create(initramfs))
        {
            using (var cached = File.OpenRead(baseInitramfs))
            {
                cached.CopyTo(output);
            }

            using var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true);
            WriteEntry(gzip, "bin/" + name, File.ReadAllBytes(binaryPath), mode: 0x81ED);
            WriteEntry(gzip, "TRAILER!!!", [], mode: 0);
        }

        return initramfs;
    }

    /// <summary>One entry of the newc cpio format (the kernel's initramfs-buffer-format.rst): a 110-byte ASCII header, name, data, 4-byte padding.</summary>
    private static void WriteEntry(Stream stream, string path, byte[] data, int mode)
    {
        byte[] name = Encoding.ASCII.GetBytes(path + "\0");
        var header = new StringBuilder("070701");
        foreach (int field in new[] { 0, mode, 0, 0, 1, 0, data.Length, 0, 0, 0, 0, name.Length, 0 })
        {
            header.Append(field.ToString("X8", System.Globalization.CultureInfo.InvariantCulture));
        }

        stream.Write(Encoding.ASCII.GetBytes(header.ToString()));
        stream.Write(name);
        stream.Write(new byte[Pad(110 + name.Length)]);
        stream.Write(data);
        stream.Write(new byte[Pad(data.Length)]);
    }

    private static int Pad(int length) => (4 - (length % 4)) % 4;

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);
}
