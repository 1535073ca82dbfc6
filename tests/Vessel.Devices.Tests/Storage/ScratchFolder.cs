namespace Vessel.Devices.Tests.Storage;

/// <summary>A temporary folder for one test's image files, deleted with everything in it.</summary>
internal sealed class ScratchFolder : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("vessel-storage-");

    public string FullName => folder.FullName;

    public string File(string name) => Path.Combine(folder.FullName, name);

    /// <summary>A raw file of <paramref name="size"/> bytes of seeded random data (or sparse zeroes when <paramref name="seed"/> is null).</summary>
    public string RandomRaw(string name, int size, int? seed)
    {
        string path = File(name);
        using var stream = new FileStream(path, FileMode.CreateNew);
        if (seed is int value)
        {
            var bytes = new byte[size];
            new Random(value).NextBytes(bytes);
            stream.Write(bytes);
        }
        else
        {
            stream.SetLength(size);
        }

        return path;
    }

    public void Dispose() => folder.Delete(recursive: true);
}
