namespace Vessel.Core.Accel.CpuModels;

/// <summary>A CPU model specification a user must fix: the message names the bad item and what is accepted.</summary>
public sealed class CpuModelException(string message) : Exception(message);
