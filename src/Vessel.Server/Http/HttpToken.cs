using System.Security.Cryptography;

namespace Vessel.Server.Http;

/// <summary>The dashboard's bearer token when none was given: 128 random bits, kept in STATE/http-token (mode 0600).</summary>
public static class HttpToken
{
    public static string CreateAndStore(string stateDirectory)
    {
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        Directory.CreateDirectory(stateDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = Path.Combine(stateDirectory, "http-token");
        File.WriteAllText(path, token + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return token;
    }
}
