namespace Vessel.Boot.Linux;

/// <summary>setup_header.loadflags (boot.rst, field "loadflags").</summary>
[Flags]
public enum LoadFlags : byte
{
    None = 0,

    /// <summary>LOADED_HIGH: the protected-mode code is loaded at 0x100000 (a bzImage).</summary>
    LoadedHigh = 1 << 0,

    /// <summary>KASLR_FLAG: set by the kernel's decompressor, not the boot loader.</summary>
    KaslrFlag = 1 << 1,

    /// <summary>QUIET_FLAG: suppress early messages.</summary>
    QuietFlag = 1 << 5,

    /// <summary>KEEP_SEGMENTS: obsolete.</summary>
    KeepSegments = 1 << 6,

    /// <summary>CAN_USE_HEAP: heap_end_ptr is valid.</summary>
    CanUseHeap = 1 << 7,
}
