namespace Vessel.Core.Accel;

/// <summary>GDTR or IDTR: a table's linear base and limit.</summary>
public readonly record struct DescriptorTableState(ulong Base, ushort Limit);
