using System.Text;

namespace Vessel.Boot.Acpi;

/// <summary>
/// Emits the few AML constructs Vessel's DSDT needs (ACPI 6.5 §20, "ACPI Machine Language Specification"): Scope, Device,
/// Name, Package, Buffer, integer constants and EISA IDs. Calls chain; nested terms are written by callbacks so their
/// PkgLength can be computed once their bodies are known.
/// </summary>
public sealed class AmlWriter
{
    private const byte ZeroOp = 0x00;
    private const byte OneOp = 0x01;
    private const byte NameOp = 0x08;
    private const byte BytePrefix = 0x0A;
    private const byte WordPrefix = 0x0B;
    private const byte DWordPrefix = 0x0C;
    private const byte ScopeOp = 0x10;
    private const byte BufferOp = 0x11;
    private const byte PackageOp = 0x12;
    private const byte ExtOpPrefix = 0x5B;
    private const byte DeviceOp = 0x82;
    private const byte RootChar = (byte)'\\';
    private const int NameSegLength = 4;

    private readonly List<byte> bytes = [];

    public byte[] ToArray() => [.. bytes];

    /// <summary><c>Name (name, object)</c>: DefName := NameOp NameString DataRefObject.</summary>
    public AmlWriter Name(string name, Action<AmlWriter> value)
    {
        bytes.Add(NameOp);
        NameString(name);
        value(this);
        return this;
    }

    /// <summary><c>Scope (name) { ... }</c>: DefScope := ScopeOp PkgLength NameString TermList.</summary>
    public AmlWriter Scope(string name, Action<AmlWriter> body)
    {
        bytes.Add(ScopeOp);
        WithPackageLength(inner =>
        {
            inner.NameString(name);
            body(inner);
        });
        return this;
    }

    /// <summary><c>Device (name) { ... }</c>: DefDevice := ExtOpPrefix DeviceOp PkgLength NameString TermList.</summary>
    public AmlWriter Device(string name, Action<AmlWriter> body)
    {
        bytes.Add(ExtOpPrefix);
        bytes.Add(DeviceOp);
        WithPackageLength(inner =>
        {
            inner.NameString(name);
            body(inner);
        });
        return this;
    }

    /// <summary><c>Package (n) { ... }</c>: DefPackage := PackageOp PkgLength NumElements PackageElementList.</summary>
    public AmlWriter Package(Action<AmlWriter> elements, byte elementCount)
    {
        bytes.Add(PackageOp);
        WithPackageLength(inner =>
        {
            inner.bytes.Add(elementCount);
            elements(inner);
        });
        return this;
    }

    /// <summary><c>Buffer () { bytes }</c>: DefBuffer := BufferOp PkgLength BufferSize ByteList.</summary>
    public AmlWriter Buffer(ReadOnlySpan<byte> content)
    {
        byte[] copy = content.ToArray();
        bytes.Add(BufferOp);
        WithPackageLength(inner =>
        {
            inner.Integer((ulong)copy.Length);
            inner.bytes.AddRange(copy);
        });
        return this;
    }

    public AmlWriter Zero()
    {
        bytes.Add(ZeroOp);
        return this;
    }

    public AmlWriter One()
    {
        bytes.Add(OneOp);
        return this;
    }

    public AmlWriter ByteConstant(byte value)
    {
        bytes.Add(BytePrefix);
        bytes.Add(value);
        return this;
    }

    /// <summary>The shortest encoding of an integer: ZeroOp, OneOp, or a Byte/Word/DWord constant.</summary>
    public AmlWriter Integer(ulong value)
    {
        switch (value)
        {
            case 0:
                return Zero();
            case 1:
                return One();
            case <= byte.MaxValue:
                return ByteConstant((byte)value);
            case <= ushort.MaxValue:
                bytes.Add(WordPrefix);
                bytes.Add((byte)value);
                bytes.Add((byte)(value >> 8));
                return this;
            case <= uint.MaxValue:
                bytes.Add(DWordPrefix);
                AppendUInt32((uint)value);
                return this;
            default:
                throw new ArgumentOutOfRangeException(nameof(value), value, "QWord constants are not needed by Vessel's tables.");
        }
    }

    /// <summary>
    /// <c>EisaId ("PNP0501")</c>: three letters in 5 bits each and four hex digits, stored as a DWord whose bytes are in
    /// that order (ACPI 6.5 §19.6.35).
    /// </summary>
    public AmlWriter EisaId(string id)
    {
        if (id.Length != 7 || !id[..3].All(char.IsAsciiLetterUpper) || !id[3..].All(char.IsAsciiHexDigitUpper))
        {
            throw new ArgumentException($"'{id}' is not an EISA ID (three capital letters, four hex digits).", nameof(id));
        }

        int vendor = ((id[0] - '@') << 10) | ((id[1] - '@') << 5) | (id[2] - '@');
        int product = Convert.ToInt32(id[3..], 16);
        bytes.Add(DWordPrefix);
        bytes.Add((byte)(vendor >> 8));
        bytes.Add((byte)vendor);
        bytes.Add((byte)(product >> 8));
        bytes.Add((byte)product);
        return this;
    }

    /// <summary>
    /// PkgLength (ACPI 6.5 §20.2.4): the length of what follows the opcode, itself included, in 1 to 4 bytes. One byte holds
    /// up to 63; otherwise the lead byte's bits 7:6 count the extra bytes and its bits 3:0 hold the low nibble.
    /// </summary>
    public static byte[] EncodePackageLength(int contentLength)
    {
        if (contentLength + 1 <= 0x3F)
        {
            return [(byte)(contentLength + 1)];
        }

        for (int extra = 1; extra <= 3; extra++)
        {
            int total = contentLength + 1 + extra;
            if (total < 1 << (4 + (8 * extra)))
            {
                var encoded = new byte[1 + extra];
                encoded[0] = (byte)((extra << 6) | (total & 0xF));
                for (int i = 1; i <= extra; i++)
                {
                    encoded[i] = (byte)(total >> (4 + (8 * (i - 1))));
                }

                return encoded;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(contentLength), contentLength, "An AML package holds at most 2^28 bytes.");
    }

    private void WithPackageLength(Action<AmlWriter> body)
    {
        var inner = new AmlWriter();
        body(inner);
        bytes.AddRange(EncodePackageLength(inner.bytes.Count));
        bytes.AddRange(inner.bytes);
    }

    /// <summary>A NameString of 4-character segments separated by dots, optionally rooted with a backslash (§20.2.2).</summary>
    private void NameString(string name)
    {
        string path = name;
        if (path.StartsWith('\\'))
        {
            bytes.Add(RootChar);
            path = path[1..];
        }

        string[] segments = path.Split('.');
        switch (segments.Length)
        {
            case 1:
                break;
            case 2:
                bytes.Add(0x2E);
                break;
            default:
                bytes.Add(0x2F);
                bytes.Add((byte)segments.Length);
                break;
        }

        foreach (string segment in segments)
        {
            if (segment.Length is 0 or > NameSegLength || !segment.All(c => char.IsAsciiLetterUpper(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                throw new ArgumentException($"'{segment}' in '{name}' is not an AML NameSeg (up to 4 of A-Z, 0-9, _).", nameof(name));
            }

            bytes.AddRange(Encoding.ASCII.GetBytes(segment.PadRight(NameSegLength, '_')));
        }
    }

    private void AppendUInt32(uint value)
    {
        for (int shift = 0; shift < 32; shift += 8)
        {
            bytes.Add((byte)(value >> shift));
        }
    }
}
