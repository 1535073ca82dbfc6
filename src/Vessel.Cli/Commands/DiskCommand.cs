using System.CommandLine;
using System.Globalization;
using Vessel.Devices.Storage;
using Vessel.Devices.Storage.Qcow2;

namespace Vessel.Cli.Commands;

/// <summary><c>vessel disk create FILE [SIZE] [--backing FILE] [--backing-format raw|qcow2]</c>: makes qcow2 images and overlays.</summary>
public static class DiskCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "The qcow2 image to create; an existing file is never overwritten." };
        var size = new Argument<string?>("SIZE")
        {
            Description = "Virtual size: bytes, or with a K, M, G or T suffix (binary units), e.g. 512M or 10G. Defaults to the backing file's size.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var backing = new Option<string?>("--backing", "-b")
        {
            Description = "Backing file the new image is an overlay of (raw or qcow2; a relative name is relative to FILE's folder, as in QEMU).",
        };
        var backingFormat = new Option<string?>("--backing-format", "-F") { Description = "Format of the backing file: raw or qcow2 (probed when omitted)." };
        backingFormat.AcceptOnlyFromAmong("raw", "qcow2");

        var create = new Command("create", "Create a qcow2 (version 3) image, optionally as an overlay of a backing file.") { file, size, backing, backingFormat };
        create.SetAction(parse => Execute(parse.GetValue(file)!, parse.GetValue(size), parse.GetValue(backing), parse.GetValue(backingFormat)));
        return new Command("disk", "Work with disk image files.") { create };
    }

    private static int Execute(string file, string? sizeText, string? backing, string? backingFormat)
    {
        if (sizeText == null && backing == null)
        {
            Console.Error.WriteLine("vessel: disk create needs a SIZE (e.g. 10G) unless --backing gives a file to take it from.");
            return Program.UsageErrorStatus;
        }

        ulong size = 0;
        if (sizeText != null && !TryParseSize(sizeText, out size))
        {
            Console.Error.WriteLine($"vessel: SIZE: '{sizeText}' is not a size; give a positive whole number of bytes with an optional K, M, G or T unit, e.g. 512M or 10G.");
            return 1;
        }

        try
        {
            var format = backingFormat == null ? (DiskImageFormat?)null : DiskImage.ParseFormat(backingFormat);
            QcowImage.Create(file, size, backing, format);
            using var created = DiskImage.Open(file, DiskImageFormat.Qcow2, readOnly: true);
            Console.WriteLine(backing == null
                ? $"Created '{file}': qcow2, {created.Size} bytes."
                : $"Created '{file}': qcow2, {created.Size} bytes, an overlay of '{backing}'.");
            return 0;
        }
        catch (DiskImageException exception)
        {
            Console.Error.WriteLine($"vessel: {exception.Message}");
            return 1;
        }
    }

    /// <summary>qemu-img's size syntax: a bare number is bytes; K, M, G, T (optionally with B or iB) are powers of 1024.</summary>
    public static bool TryParseSize(string text, out ulong bytes)
    {
        bytes = 0;
        string trimmed = text.Trim();
        int digits = 0;
        while (digits < trimmed.Length && char.IsAsciiDigit(trimmed[digits]))
        {
            digits++;
        }

        if (digits == 0 || !ulong.TryParse(trimmed.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out ulong number) || number == 0)
        {
            return false;
        }

        string unit = trimmed[digits..].ToUpperInvariant();
        int shift;
        switch (unit)
        {
            case "" or "B":
                shift = 0;
                break;
            case "K" or "KB" or "KIB":
                shift = 10;
                break;
            case "M" or "MB" or "MIB":
                shift = 20;
                break;
            case "G" or "GB" or "GIB":
                shift = 30;
                break;
            case "T" or "TB" or "TIB":
                shift = 40;
                break;
            default:
                return false;
        }

        if (number > (ulong.MaxValue >> shift))
        {
            return false;
        }

        bytes = number << shift;
        return true;
    }
}
