using System.Diagnostics;
using Vessel.Core.Accel;
using Vessel.Core.Interrupts;
using Vessel.Core.Logging;
using Vessel.Core.Memory;
using Vessel.Core.Snapshots;
using Vessel.Devices.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;
using Vessel.Vmm.Running;

namespace Vessel.Vmm.Snapshots;

/// <summary>What <see cref="MachineSnapshot.Create"/> wrote.</summary>
public sealed record SnapshotResult(long StateBytes, long MemoryBytesWritten, TimeSpan Elapsed);

/// <summary>A machine rebuilt from a snapshot, paused or running, and the configuration it was rebuilt from.</summary>
public sealed record RestoredMachine(BuiltMachine Built, MachineConfig Config, TimeSpan Elapsed);

/// <summary>
/// Takes a paused machine's snapshot (a state file and a memory file) and rebuilds a machine from one. The state file is
/// a <see cref="SnapshotFile"/> whose body holds, in order: the machine section (accelerator, CPU identity, memory layout,
/// vCPU count, configuration), the guest clock, the accelerator's state (vCPUs, interrupt controllers, timers), and each
/// device under its stable id (<see cref="DeviceManager.StatefulDevices"/>). docs/snapshots.md describes the layout.
/// </summary>
public static class MachineSnapshot
{
    private const int MachineSectionVersion = 1;
    private const int AcceleratorSectionVersion = 1;
    private const int DevicesSectionVersion = 1;

    /// <summary>Writes the snapshot of a paused machine. The machine stays paused; it may be resumed or snapshotted again.</summary>
    public static SnapshotResult Create(BuiltMachine built, SnapshotType type, string snapshotPath, string memoryPath)
    {
        var config = built.Config ?? throw new InvalidOperationException("The machine has no configuration to save.");
        var started = Stopwatch.GetTimestamp();
        var machine = built.Machine;
        var devices = built.Devices ?? throw new InvalidOperationException("The machine has no device list to save.");
        if (machine.State != MachineState.Paused)
        {
            throw new SnapshotException($"A snapshot is taken only of a paused machine, and this one is {machine.State}: pause it first (PATCH /vm {{\"state\": \"Paused\"}}).");
        }

        if (type == SnapshotType.Diff && !config.TrackDirtyPages)
        {
            throw new SnapshotException("A diff snapshot needs the dirty page log, which is off: set track_dirty_pages in machine-config (or on snapshot load) before the machine starts.");
        }

        if (type == SnapshotType.Full && machine.Memory.BackingFile is { } backing && backing == Path.GetFullPath(memoryPath))
        {
            throw new SnapshotException($"The memory file {memoryPath} is the one this machine was restored from and still reads pages from; write a full snapshot to another path (a diff snapshot may go there).");
        }

        var writer = new StateWriter();
        using (writer.BeginSection("machine", MachineSectionVersion))
        {
            writer.WriteString(machine.AcceleratorName);
            CpuIdentity.For(machine.AcceleratorName).Write(writer);
            writer.WriteUInt64(machine.Memory.TotalSize);
            writer.WriteInt32(machine.Memory.Regions.Count);
            foreach (var region in machine.Memory.Regions)
            {
                writer.WriteUInt64(region.Start.Value);
                writer.WriteUInt64(region.Size);
            }

            writer.WriteInt32(machine.Vcpus.Count);
            using (writer.BeginSection("config", MachineConfigState.Version))
            {
                MachineConfigState.Write(writer, config);
            }
        }

        using (writer.BeginSection("clock", machine.Clock.StateVersion))
        {
            machine.Clock.SaveState(writer);
        }

        using (writer.BeginSection("accelerator", AcceleratorSectionVersion))
        {
            try
            {
                machine.AcceleratorVm.SaveState(writer);
            }
            catch (NotSupportedException)
            {
                throw new SnapshotException($"The {machine.AcceleratorName} accelerator cannot save its vCPUs and interrupt controllers yet, so this machine cannot be snapshotted.");
            }
        }

        using (writer.BeginSection("devices", DevicesSectionVersion))
        {
            writer.WriteInt32(devices.StatefulDevices.Count);
            foreach (var (id, device) in devices.StatefulDevices)
            {
                using (writer.BeginSection(id, device.StateVersion))
                {
                    device.SaveState(writer);
                }
            }
        }

        long memoryBytes = type == SnapshotType.Diff
            ? MemoryFile.WriteDirty(machine.Memory, memoryPath, TakeDirtyLog(machine))
            : MemoryFile.WriteFull(machine.Memory, memoryPath);
        if (type == SnapshotType.Full && config.TrackDirtyPages)
        {
            // The next diff holds what changes after this snapshot.
            TakeDirtyLog(machine);
        }

        SnapshotFile.Write(snapshotPath, writer.WrittenSpan);
        return new SnapshotResult(writer.Length, memoryBytes, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Reads what a snapshot says about its machine without building anything: for checks and for the API's view of the configuration.</summary>
    public static MachineConfig ReadConfig(string snapshotPath) => ReadHeader(SnapshotFile.Read(snapshotPath)).Config;

    /// <summary>
    /// Rebuilds the snapshot's machine: checks the file whole and that this host can run it (CPU, memory file, disks),
    /// builds the same devices around the memory file mapped copy-on-write, restores the guest clock, the accelerator and
    /// every device, and starts the vCPUs parked; with <paramref name="resume"/> the guest runs on at once.
    /// </summary>
    /// <param name="selectAccelerator">Picks the accelerator for the snapshot's configuration (whose accelerator is the one the snapshot was taken on).</param>
    public static RestoredMachine Restore(
        string snapshotPath,
        string memoryPath,
        bool resume,
        bool trackDirtyPages,
        Func<MachineConfig, IAccelerator> selectAccelerator,
        ISerialOutput consoleOutput,
        IMachineLog log)
    {
        var started = Stopwatch.GetTimestamp();
        var body = SnapshotFile.Read(snapshotPath);
        var header = ReadHeader(body);
        var config = header.Config with
        {
            TrackDirtyPages = trackDirtyPages,
            Accelerator = header.AcceleratorName switch
            {
                "kvm" => AcceleratorKind.Kvm,
                "software" => AcceleratorKind.Software,
                _ => header.Config.Accelerator,
            },
        };
        CheckHost(header, config, memoryPath);
        var read = Stopwatch.GetElapsedTime(started);

        var accelerator = selectAccelerator(config);
        GuestMemory memory;
        try
        {
            memory = GuestMemory.MapFile(memoryPath, header.MemorySize);
        }
        catch (GuestMemoryException exception)
        {
            throw new SnapshotException(exception.Message, exception);
        }

        var mapped = Stopwatch.GetElapsedTime(started);
        BuiltMachine built;
        try
        {
            built = MachineBuilder.BuildForRestore(config, accelerator, memory, consoleOutput, log);
        }
        catch
        {
            memory.Dispose();
            throw;
        }

        try
        {
            var assembled = Stopwatch.GetElapsedTime(started);
            var machine = built.Machine;
            var devices = built.Devices!;
            machine.HoldForRestore();
            body.RestoreSection("clock", machine.Clock);

            var acceleratorSection = body.ReadSection("accelerator", AcceleratorSectionVersion, out _);
            try
            {
                machine.AcceleratorVm.RestoreState(acceleratorSection);
            }
            catch (NotSupportedException)
            {
                throw new SnapshotException($"The {machine.AcceleratorName} accelerator cannot restore vCPUs and interrupt controllers yet, so this snapshot cannot be restored here.");
            }

            acceleratorSection.ExpectEnd();

            var deviceSection = body.ReadSection("devices", DevicesSectionVersion, out _);
            int count = deviceSection.ReadInt32();
            if (count != devices.StatefulDevices.Count)
            {
                throw deviceSection.Malformed($"the snapshot has {count} devices and the machine built from its configuration has {devices.StatefulDevices.Count}");
            }

            foreach (var (id, device) in devices.StatefulDevices)
            {
                deviceSection.RestoreSection(id, device);
            }

            deviceSection.ExpectEnd();
            body.ExpectEnd();

            var applied = Stopwatch.GetElapsedTime(started);
            machine.StartPaused();
            if (resume)
            {
                machine.Resume();
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            log.Info($"restore: snapshot read and checked by {read.TotalMilliseconds:0.0} ms, memory mapped by {mapped.TotalMilliseconds:0.0} ms, "
                + $"machine built by {assembled.TotalMilliseconds:0.0} ms, state applied by {applied.TotalMilliseconds:0.0} ms, vCPUs started by {elapsed.TotalMilliseconds:0.0} ms");
            return new RestoredMachine(built, config, elapsed);
        }
        catch
        {
            built.Machine.RequestStop(MachineStop.HostRequest());
            built.Dispose();
            throw;
        }
    }

    private static ulong[] TakeDirtyLog(Machine machine)
    {
        try
        {
            machine.AcceleratorVm.CollectDirtyPages();
        }
        catch (NotSupportedException)
        {
            throw new SnapshotException($"The {machine.AcceleratorName} accelerator cannot report the pages its vCPUs wrote yet, so diff snapshots are not available.");
        }

        return machine.Memory.TakeDirtyPages();
    }

    private sealed record Header(string AcceleratorName, CpuIdentity Cpu, ulong MemorySize, int VcpuCount, MachineConfig Config);

    private static Header ReadHeader(StateReader body)
    {
        var section = body.ReadSection("machine", MachineSectionVersion, out _);
        string accelerator = section.ReadString();
        var cpu = CpuIdentity.Read(section);
        ulong memorySize = section.ReadUInt64();
        int regions = section.ReadInt32();
        if (regions is < 1 or > 2)
        {
            throw section.Malformed($"the memory has {regions} regions");
        }

        for (int index = 0; index < regions; index++)
        {
            section.ReadUInt64();
            section.ReadUInt64();
        }

        int vcpus = section.ReadInt32();
        var configSection = section.ReadSection("config", MachineConfigState.Version, out int configVersion);
        var config = MachineConfigState.Read(configSection, configVersion);
        configSection.ExpectEnd();
        section.ExpectEnd();
        if (config.MemoryBytes != memorySize || config.VcpuCount != vcpus)
        {
            throw section.Malformed($"the machine has {memorySize} bytes and {vcpus} vCPUs where its configuration says {config.MemoryBytes} and {config.VcpuCount}");
        }

        return new Header(accelerator, cpu, memorySize, vcpus, config);
    }

    /// <summary>Refuses, in one sentence, a restore this host cannot do: before anything is built.</summary>
    private static void CheckHost(Header header, MachineConfig config, string memoryPath)
    {
        if (header.AcceleratorName == "kvm" && header.Cpu.WhatIsMissingOn(CpuIdentity.Host()) is { } missing)
        {
            throw new SnapshotException($"The snapshot cannot be restored on this host: {missing}.");
        }

        if (!File.Exists(memoryPath))
        {
            throw new SnapshotException($"The memory file {memoryPath} does not exist; give the mem_file_path the snapshot was written with.");
        }

        long length = new FileInfo(memoryPath).Length;
        if ((ulong)length < header.MemorySize)
        {
            throw new SnapshotException($"The memory file {memoryPath} is {length} bytes and the snapshot's guest has {header.MemorySize} bytes of RAM; give the memory file written with this snapshot.");
        }

        foreach (var disk in config.Disks)
        {
            if (!File.Exists(disk.Path))
            {
                throw new SnapshotException($"The snapshot's disk '{disk.Id}' at {disk.Path} does not exist; put the disk image back at that path to restore.");
            }
        }
    }
}
