using Vessel.Devices.Storage;

namespace Vessel.Testing.DiskWriter;

/// <summary>
/// A separate process for the storage tests that need one: <c>write-loop IMAGE SEED</c> writes, discards and flushes at
/// random until it is killed (the SIGKILL crash-consistency test), printing a line after every operation; <c>open IMAGE
/// ro|rw</c> opens an image and prints the error, if any (the permission test, run as an unprivileged user); <c>bench
/// IMAGE REQUEST-BYTES</c> times a 64 MiB sequential write (then flush) and read through the backend, as the guest's
/// benchmark drives it, for docs/storage.md.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        try
        {
            return args switch
            {
                ["write-loop", var path, var seed] => WriteLoop(path, int.Parse(seed, System.Globalization.CultureInfo.InvariantCulture)),
                ["open", var path, var mode] => Open(path, mode == "ro"),
                ["bench", var path, var request] => Bench(path, int.Parse(request, System.Globalization.CultureInfo.InvariantCulture)),
                _ => Usage(),
            };
        }
        catch (DiskImageException exception)
        {
            Console.WriteLine(exception.Message);
            return 1;
        }
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: write-loop IMAGE SEED | open IMAGE ro|rw | bench IMAGE REQUEST-BYTES");
        return 2;
    }

    private static int Open(string path, bool readOnly)
    {
        using var image = DiskImage.Open(path, null, readOnly);
        Console.WriteLine($"opened {image.Size}");
        return 0;
    }

    private static int Bench(string path, int request)
    {
        const int total = 64 << 20;
        using var image = DiskImage.Open(path, null, readOnly: false);
        var buffer = new byte[request];
        new Random(1).NextBytes(buffer);
        for (int round = 0; round < 2; round++)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int offset = 0; offset < total; offset += request)
            {
                image.Write((ulong)offset, buffer);
            }

            image.Flush();
            var write = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (int offset = 0; offset < total; offset += request)
            {
                image.Read((ulong)offset, buffer);
            }

            var read = System.Diagnostics.Stopwatch.GetElapsedTime(start);
            Console.WriteLine(
                $"{(round == 0 ? "first" : "rewrite")}: write+flush {write.TotalMilliseconds:F0} ms ({total / 1048576.0 / write.TotalSeconds:F0} MiB/s), "
                + $"read {read.TotalMilliseconds:F0} ms ({total / 1048576.0 / read.TotalSeconds:F0} MiB/s)");
        }

        return 0;
    }

    private static int WriteLoop(string path, int seed)
    {
        using var image = DiskImage.Open(path, null, readOnly: false);
        var random = new Random(seed);
        var buffer = new byte[256 * 1024];
        for (long operation = 0; ; operation++)
        {
            ulong length = (ulong)random.Next(1, buffer.Length / 512) * 512;
            ulong offset = (ulong)random.NextInt64(0, (long)((image.Size - length) / 512)) * 512;
            switch (random.Next(10))
            {
                case 0:
                    image.Discard(offset, length);
                    break;
                case 1:
                    image.WriteZeroes(offset, length, mayUnmap: random.Next(2) == 0);
                    break;
                case 2:
                    image.Flush();
                    break;
                default:
                    random.NextBytes(buffer.AsSpan(0, (int)length));
                    image.Write(offset, buffer.AsSpan(0, (int)length));
                    break;
            }

            Console.WriteLine(operation);
        }
    }
}
