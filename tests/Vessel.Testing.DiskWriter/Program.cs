using Vessel.Devices.Storage;

namespace Vessel.Testing.DiskWriter;

/// <summary>
/// A separate process for the storage tests that need one: <c>write-loop IMAGE SEED</c> writes, discards and flushes at
/// random until it is killed (the SIGKILL crash-consistency test), printing a line after every operation; <c>open IMAGE
/// ro|rw</c> opens an image and prints the error, if any (the permission test, run as an unprivileged user).
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
        Console.Error.WriteLine("usage: write-loop IMAGE SEED | open IMAGE ro|rw");
        return 2;
    }

    private static int Open(string path, bool readOnly)
    {
        using var image = DiskImage.Open(path, null, readOnly);
        Console.WriteLine($"opened {image.Size}");
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
