using Vessel.Boot.Elf;
using Vessel.Boot.Layout;
using Vessel.Boot.Linux;
using Vessel.Boot.Multiboot;
using Vessel.Core.Memory;

namespace Vessel.Boot;

/// <summary>
/// The one call a machine builder makes: loads a recognized kernel image with its command line, initrd or modules, writes every boot
/// structure, and returns the boot vCPU's state. Errors are <see cref="BootImageException"/> whose message starts with the image's name.
/// </summary>
public static class KernelLoader
{
    public static LoadedKernel Load(GuestMemory memory, KernelImage kernel, KernelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(kernel);
        options ??= new KernelLoadOptions();
        try
        {
            var image = kernel.Bytes.Span;
            switch (kernel.Format)
            {
                case KernelImageFormat.Elf64:
                    var elf = ElfLoader.Load(memory, image, LinuxBoot.BootAreas);
                    return LinuxBoot.Configure(memory, kernel.Format, elf.Entry, elf.Start, elf.End, header: null, options);
                case KernelImageFormat.BzImage:
                    var bzImage = BzImageLoader.Load(memory, image);
                    return LinuxBoot.Configure(memory, kernel.Format, bzImage.Entry, bzImage.LoadAddress, bzImage.End, bzImage.Header, options);
                default:
                    // Multiboot loaders pass the kernel's name as the first word of the command line (QEMU and GRUB
                    // do); kvm-unit-tests reads its arguments from the second word on.
                    var multibootOptions = new KernelLoadOptions
                    {
                        CommandLine = string.IsNullOrEmpty(options.CommandLine) ? kernel.Name : $"{kernel.Name} {options.CommandLine}",
                        Initrd = options.Initrd,
                        Modules = options.Modules,
                        ReservedRanges = options.ReservedRanges,
                        AcpiRsdpAddress = options.AcpiRsdpAddress,
                    };
                    return MultibootLoader.Load(memory, image, multibootOptions);
            }
        }
        catch (BootImageException exception)
        {
            throw new BootImageException($"{kernel.Name}: {exception.Message}", exception);
        }
    }
}
