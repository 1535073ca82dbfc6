using Vessel.Core.Logging;
using Vessel.Devices.Serial;
using Vessel.Vmm.Building;
using Vessel.Vmm.Configuration;

namespace Vessel.Api;

/// <summary>
/// Builds a machine for InstanceStart. The composition root (the CLI) supplies it, since only it knows the accelerators:
/// the API depends on Vmm alone. <paramref name="serialOutput"/> is where the guest's console goes (stdout unless
/// <c>PUT /serial</c> named a file).
/// </summary>
public delegate BuiltMachine MachineFactory(MachineConfig config, ISerialOutput serialOutput, IMachineLog log);

/// <summary>
/// Rebuilds a machine from a snapshot (<c>PUT /snapshot/load</c>): the host decides the accelerator and wires the console
/// input, as <see cref="MachineFactory"/> does for a boot.
/// </summary>
public delegate Vessel.Vmm.Snapshots.RestoredMachine SnapshotRestorer(string snapshotPath, string memoryPath, bool resume, bool trackDirtyPages, ISerialOutput serialOutput, IMachineLog log);
