namespace Vessel.Kvm.Tests.Interop;

/// <summary>
/// One kernel struct and our mirror of it: each C member designator (as offsetof takes it) paired with the path of the
/// C# field at the same offset ("Io.Port"; "Xcrs+16" for an element inside a buffer; "sizeof" for a flexible array
/// that starts where our fixed header ends).
/// </summary>
internal sealed record StructLayoutExpectation(string CType, Type ClrType, params (string CMember, string ClrPath)[] Fields);
