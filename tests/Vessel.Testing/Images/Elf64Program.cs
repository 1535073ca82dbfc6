using Iced.Intel;

namespace Vessel.Testing.Images;

/// <summary>
/// A 64-bit bare-metal program assembled at test time and wrapped in an ELF64 executable loaded at 1 MiB: what
/// <c>vessel run --kernel</c> boots through the Linux 64-bit entry (long mode, identity-mapped first GiB).
/// </summary>
public static class Elf64Program
{
    public const ulong LoadAddress = 0x100000;

    public static byte[] Build(Action<Assembler> program)
    {
        var assembler = new Assembler(64);
        program(assembler);
        var code = new MemoryStream();
        assembler.Assemble(new StreamCodeWriter(code), LoadAddress);
        var builder = new ElfBuilder { Is64 = true, Entry = LoadAddress };
        builder.Segments.Add(new ElfSegment(LoadAddress, code.ToArray(), (ulong)code.Length + 0x1000));
        return builder.Build();
    }

    /// <summary>Writes the image to a temporary file the caller deletes.</summary>
    public static string WriteTemporary(Action<Assembler> program)
    {
        string path = Path.Combine(Path.GetTempPath(), $"vessel-guest-{Guid.NewGuid():N}.elf");
        File.WriteAllBytes(path, Build(program));
        return path;
    }
}
