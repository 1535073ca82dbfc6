using Vessel.Kvm.Interop;

namespace Vessel.Kvm.Tests.Interop;

/// <summary>Everything the kernel-header probe checks: struct layouts and the values of macros we mirror.</summary>
internal static class KernelHeaderExpectations
{
    public static readonly StructLayoutExpectation[] Structs =
    [
        new("struct kvm_regs", typeof(KvmRegs),
            ("rax", "Rax"), ("rbx", "Rbx"), ("rcx", "Rcx"), ("rdx", "Rdx"), ("rsi", "Rsi"), ("rdi", "Rdi"), ("rsp", "Rsp"), ("rbp", "Rbp"),
            ("r8", "R8"), ("r9", "R9"), ("r10", "R10"), ("r11", "R11"), ("r12", "R12"), ("r13", "R13"), ("r14", "R14"), ("r15", "R15"),
            ("rip", "Rip"), ("rflags", "Rflags")),
        new("struct kvm_segment", typeof(KvmSegment),
            ("base", "Base"), ("limit", "Limit"), ("selector", "Selector"), ("type", "Type"), ("present", "Present"), ("dpl", "Dpl"),
            ("db", "Db"), ("s", "S"), ("l", "L"), ("g", "G"), ("avl", "Avl"), ("unusable", "Unusable"), ("padding", "Padding")),
        new("struct kvm_dtable", typeof(KvmDtable), ("base", "Base"), ("limit", "Limit"), ("padding", "Padding0")),
        new("struct kvm_sregs", typeof(KvmSregs),
            ("cs", "Cs"), ("ds", "Ds"), ("es", "Es"), ("fs", "Fs"), ("gs", "Gs"), ("ss", "Ss"), ("tr", "Tr"), ("ldt", "Ldt"),
            ("gdt", "Gdt"), ("idt", "Idt"), ("cr0", "Cr0"), ("cr2", "Cr2"), ("cr3", "Cr3"), ("cr4", "Cr4"), ("cr8", "Cr8"),
            ("efer", "Efer"), ("apic_base", "ApicBase"), ("interrupt_bitmap", "InterruptBitmap"), ("ldt.unusable", "Ldt.Unusable")),
        new("struct kvm_fpu", typeof(KvmFpu),
            ("fpr", "Fpr"), ("fcw", "Fcw"), ("fsw", "Fsw"), ("ftwx", "Ftwx"), ("pad1", "Pad1"), ("last_opcode", "LastOpcode"),
            ("last_ip", "LastIp"), ("last_dp", "LastDp"), ("xmm", "Xmm"), ("mxcsr", "Mxcsr"), ("pad2", "Pad2")),
        new("struct kvm_msr_entry", typeof(KvmMsrEntry), ("index", "Index"), ("reserved", "Reserved"), ("data", "Data")),
        new("struct kvm_msrs", typeof(KvmMsrs), ("nmsrs", "Nmsrs"), ("pad", "Pad"), ("entries", "sizeof")),
        new("struct kvm_cpuid_entry2", typeof(KvmCpuidEntry2),
            ("function", "Function"), ("index", "Index"), ("flags", "Flags"), ("eax", "Eax"), ("ebx", "Ebx"), ("ecx", "Ecx"),
            ("edx", "Edx"), ("padding", "Padding0")),
        new("struct kvm_cpuid2", typeof(KvmCpuid2), ("nent", "Nent"), ("padding", "Padding"), ("entries", "sizeof")),
        new("struct kvm_lapic_state", typeof(KvmLapicState), ("regs", "Regs")),
        new("struct kvm_userspace_memory_region", typeof(KvmUserspaceMemoryRegion),
            ("slot", "Slot"), ("flags", "Flags"), ("guest_phys_addr", "GuestPhysAddr"), ("memory_size", "MemorySize"), ("userspace_addr", "UserspaceAddr")),
        new("struct kvm_run", typeof(KvmRun),
            ("request_interrupt_window", "RequestInterruptWindow"), ("immediate_exit", "ImmediateExit"), ("exit_reason", "ExitReason"),
            ("ready_for_interrupt_injection", "ReadyForInterruptInjection"), ("if_flag", "IfFlag"), ("flags", "Flags"),
            ("cr8", "Cr8"), ("apic_base", "ApicBase"),
            ("hw.hardware_exit_reason", "Hw.HardwareExitReason"),
            ("fail_entry.hardware_entry_failure_reason", "FailEntry.HardwareEntryFailureReason"), ("fail_entry.cpu", "FailEntry.Cpu"),
            ("io.direction", "Io.Direction"), ("io.size", "Io.Size"), ("io.port", "Io.Port"), ("io.count", "Io.Count"), ("io.data_offset", "Io.DataOffset"),
            ("mmio.phys_addr", "Mmio.PhysAddr"), ("mmio.data", "Mmio.Data"), ("mmio.len", "Mmio.Len"), ("mmio.is_write", "Mmio.IsWrite"),
            ("internal.suberror", "Internal.Suberror"), ("internal.ndata", "Internal.Ndata"), ("internal.data", "Internal.Data"),
            ("internal.data[15]", "Internal.Data+120"),
            ("system_event.type", "SystemEvent.Type"), ("system_event.ndata", "SystemEvent.Ndata"),
            ("system_event.flags", "SystemEvent.Data"), ("system_event.data", "SystemEvent.Data"), ("system_event.data[15]", "SystemEvent.Data+120"),
            ("kvm_valid_regs", "KvmValidRegs"), ("kvm_dirty_regs", "KvmDirtyRegs")),
        new("struct kvm_irq_level", typeof(KvmIrqLevel), ("irq", "Irq"), ("status", "Irq"), ("level", "Level")),
        new("struct kvm_msi", typeof(KvmMsi),
            ("address_lo", "AddressLo"), ("address_hi", "AddressHi"), ("data", "Data"), ("flags", "Flags"), ("devid", "Devid"), ("pad", "Pad")),
        new("struct kvm_irqfd", typeof(KvmIrqfd), ("fd", "Fd"), ("gsi", "Gsi"), ("flags", "Flags"), ("resamplefd", "Resamplefd"), ("pad", "Pad")),
        new("struct kvm_pit_config", typeof(KvmPitConfig), ("flags", "Flags"), ("pad", "Pad")),
        new("struct kvm_clock_data", typeof(KvmClockData),
            ("clock", "Clock"), ("flags", "Flags"), ("pad0", "Pad0"), ("realtime", "Realtime"), ("host_tsc", "HostTsc"), ("pad", "Pad")),
        new("struct kvm_mp_state", typeof(KvmMpState), ("mp_state", "MpState")),
        new("struct kvm_debugregs", typeof(KvmDebugregs), ("db", "Db"), ("dr6", "Dr6"), ("dr7", "Dr7"), ("flags", "Flags"), ("reserved", "Reserved")),
        new("struct kvm_xcrs", typeof(KvmXcrs),
            ("nr_xcrs", "NrXcrs"), ("flags", "Flags"), ("xcrs", "Xcrs"), ("xcrs[0].value", "Xcrs+8"), ("xcrs[1].xcr", "Xcrs+16"),
            ("xcrs[15].value", "Xcrs+248"), ("padding", "Padding")),
        new("struct kvm_vcpu_events", typeof(KvmVcpuEvents),
            ("exception.injected", "ExceptionInjected"), ("exception.nr", "ExceptionNr"), ("exception.has_error_code", "ExceptionHasErrorCode"),
            ("exception.pending", "ExceptionPending"), ("exception.error_code", "ExceptionErrorCode"),
            ("interrupt.injected", "InterruptInjected"), ("interrupt.nr", "InterruptNr"), ("interrupt.soft", "InterruptSoft"), ("interrupt.shadow", "InterruptShadow"),
            ("nmi.injected", "NmiInjected"), ("nmi.pending", "NmiPending"), ("nmi.masked", "NmiMasked"), ("nmi.pad", "NmiPad"),
            ("sipi_vector", "SipiVector"), ("flags", "Flags"),
            ("smi.smm", "SmiSmm"), ("smi.pending", "SmiPending"), ("smi.smm_inside_nmi", "SmiSmmInsideNmi"), ("smi.latched_init", "SmiLatchedInit"),
            ("triple_fault.pending", "TripleFaultPending"), ("exception_has_payload", "ExceptionHasPayload"), ("exception_payload", "ExceptionPayload")),
        new("struct sigaction", typeof(Sigaction), ("sa_handler", "Handler"), ("sa_mask", "Mask"), ("sa_flags", "Flags"), ("sa_restorer", "Restorer")),
    ];

    /// <summary>Every ioctl number we compute, by the header's name for it.</summary>
    public static readonly (string Macro, ulong Ours)[] Ioctls =
    [
        ("KVM_GET_API_VERSION", KvmIoctls.GetApiVersion),
        ("KVM_CREATE_VM", KvmIoctls.CreateVm),
        ("KVM_CHECK_EXTENSION", KvmIoctls.CheckExtension),
        ("KVM_GET_VCPU_MMAP_SIZE", KvmIoctls.GetVcpuMmapSize),
        ("KVM_GET_SUPPORTED_CPUID", KvmIoctls.GetSupportedCpuid),
        ("KVM_CREATE_VCPU", KvmIoctls.CreateVcpu),
        ("KVM_SET_USER_MEMORY_REGION", KvmIoctls.SetUserMemoryRegion),
        ("KVM_SET_TSS_ADDR", KvmIoctls.SetTssAddr),
        ("KVM_SET_IDENTITY_MAP_ADDR", KvmIoctls.SetIdentityMapAddr),
        ("KVM_CREATE_IRQCHIP", KvmIoctls.CreateIrqchip),
        ("KVM_IRQ_LINE", KvmIoctls.IrqLine),
        ("KVM_IRQFD", KvmIoctls.Irqfd),
        ("KVM_CREATE_PIT2", KvmIoctls.CreatePit2),
        ("KVM_SET_CLOCK", KvmIoctls.SetClock),
        ("KVM_GET_CLOCK", KvmIoctls.GetClock),
        ("KVM_SIGNAL_MSI", KvmIoctls.SignalMsi),
        ("KVM_RUN", KvmIoctls.Run),
        ("KVM_GET_REGS", KvmIoctls.GetRegs),
        ("KVM_SET_REGS", KvmIoctls.SetRegs),
        ("KVM_GET_SREGS", KvmIoctls.GetSregs),
        ("KVM_SET_SREGS", KvmIoctls.SetSregs),
        ("KVM_GET_MSRS", KvmIoctls.GetMsrs),
        ("KVM_SET_MSRS", KvmIoctls.SetMsrs),
        ("KVM_GET_FPU", KvmIoctls.GetFpu),
        ("KVM_SET_FPU", KvmIoctls.SetFpu),
        ("KVM_GET_LAPIC", KvmIoctls.GetLapic),
        ("KVM_SET_LAPIC", KvmIoctls.SetLapic),
        ("KVM_SET_CPUID2", KvmIoctls.SetCpuid2),
        ("KVM_GET_CPUID2", KvmIoctls.GetCpuid2),
        ("KVM_GET_MP_STATE", KvmIoctls.GetMpState),
        ("KVM_SET_MP_STATE", KvmIoctls.SetMpState),
        ("KVM_GET_VCPU_EVENTS", KvmIoctls.GetVcpuEvents),
        ("KVM_SET_VCPU_EVENTS", KvmIoctls.SetVcpuEvents),
        ("KVM_GET_DEBUGREGS", KvmIoctls.GetDebugregs),
        ("KVM_SET_DEBUGREGS", KvmIoctls.SetDebugregs),
        ("KVM_GET_XCRS", KvmIoctls.GetXcrs),
        ("KVM_SET_XCRS", KvmIoctls.SetXcrs),
    ];

    /// <summary>Other macros we mirror as constants or enum members.</summary>
    public static readonly (string Macro, ulong Ours)[] Constants =
    [
        ("KVM_API_VERSION", KvmConstants.ApiVersion),
        ("KVMIO", KvmIoctls.Type),
        ("KVM_PIT_SPEAKER_DUMMY", KvmConstants.PitSpeakerDummy),
        ("KVM_APIC_REG_SIZE", KvmConstants.ApicRegisterSize),
        ("KVM_NR_INTERRUPTS / 64", KvmConstants.InterruptBitmapWords),
        ("KVM_MAX_XCRS", KvmConstants.MaxXcrs),
        ("KVM_CPUID_FLAG_SIGNIFCANT_INDEX", KvmCpuidEntry2.FlagSignificantIndex),
        ("KVM_EXIT_IO_IN", (ulong)KvmIoDirection.In),
        ("KVM_EXIT_IO_OUT", (ulong)KvmIoDirection.Out),
        ("KVM_INTERNAL_ERROR_EMULATION", (ulong)KvmInternalErrorSuberror.Emulation),
        ("KVM_INTERNAL_ERROR_SIMUL_EX", (ulong)KvmInternalErrorSuberror.SimultaneousException),
        ("KVM_INTERNAL_ERROR_DELIVERY_EV", (ulong)KvmInternalErrorSuberror.DeliveryEvent),
        ("KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON", (ulong)KvmInternalErrorSuberror.UnexpectedExitReason),
        ("SA_SIGINFO", Sigaction.FlagSigInfo),
        ("SA_RESTART", Sigaction.FlagRestart),
        ("SIG_UNBLOCK", Libc.SigUnblock),
        ("O_RDWR", Libc.OpenReadWrite),
        ("O_CLOEXEC", Libc.OpenCloseOnExec),
        ("PROT_READ", Libc.ProtRead),
        ("PROT_WRITE", Libc.ProtWrite),
        ("MAP_SHARED", Libc.MapShared),
        ("ENOENT", Libc.ErrorNoEntry),
        ("EINTR", Libc.ErrorInterrupted),
        ("ENODEV", Libc.ErrorNoDevice),
        ("ENXIO", Libc.ErrorNoDeviceOrAddress),
        ("EACCES", Libc.ErrorAccess),
        ("EPERM", Libc.ErrorPermission),
        ("EAGAIN", Libc.ErrorTryAgain),
        ("E2BIG", Libc.ErrorTooBig),
        ("ESRCH", Libc.ErrorNoSuchProcess),
    ];

    /// <summary>Enums whose members are the header's macros with a prefix, the member name in UPPER_SNAKE_CASE.</summary>
    public static readonly (Type Enum, string Prefix)[] PrefixedEnums =
    [
        (typeof(KvmCapability), "KVM_CAP_"),
        (typeof(KvmExitReason), "KVM_EXIT_"),
        (typeof(KvmSystemEventType), "KVM_SYSTEM_EVENT_"),
        (typeof(KvmMpStateValue), "KVM_MP_STATE_"),
    ];

    public static IEnumerable<(string Macro, ulong Ours)> Macros =>
        Ioctls.Concat(Constants).Concat(PrefixedEnums.SelectMany(e => EnumMacros(e.Enum, e.Prefix)));

    public static IEnumerable<(string Macro, ulong Ours)> EnumMacros(Type enumType, string prefix) =>
        Enum.GetValues(enumType).Cast<object>().Select(value =>
            (prefix + ToUpperSnakeCase(Enum.GetName(enumType, value)!), Convert.ToUInt64(value, System.Globalization.CultureInfo.InvariantCulture)));

    private static string ToUpperSnakeCase(string pascal) =>
        string.Concat(pascal.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}
