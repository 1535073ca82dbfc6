namespace Vessel.Devices.Keyboard;

/// <summary>A byte the controller itself has queued for the output buffer, with the status bits that accompany it.</summary>
internal readonly record struct PendingOutput(byte Value, ControllerStatus Status);
