using Iced.Intel;

namespace Vessel.X86.Cpu.Execution;

/// <summary>Finds Iced codes by mnemonic and operand pattern, so a family registers all its encodings without listing them.</summary>
public static class CodeFamily
{
    private static readonly (Code Code, string Name)[] AllCodes =
        [.. Enum.GetValues<Code>().Select(code => (code, code.ToString()))];

    /// <summary>Every code named <c>{mnemonic}_...</c> (or exactly <paramref name="mnemonic"/>).</summary>
    public static IEnumerable<(Code Code, string Operands)> Of(string mnemonic)
    {
        string prefix = mnemonic + "_";
        foreach (var (code, name) in AllCodes)
        {
            if (name == mnemonic)
            {
                yield return (code, string.Empty);
            }
            else if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return (code, name[prefix.Length..]);
            }
        }
    }
}
