namespace Vessel.Vmm.Configuration;

/// <summary>A machine configuration a user must fix: the message says which setting, what was wrong, and what to do.</summary>
public sealed class ConfigurationException(string message) : Exception(message);
