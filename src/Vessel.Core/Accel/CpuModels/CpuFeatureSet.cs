namespace Vessel.Core.Accel.CpuModels;

/// <summary>An immutable set of CPU features: one 32-bit mask per <see cref="CpuFeatureWord"/>.</summary>
public sealed class CpuFeatureSet : IEquatable<CpuFeatureSet>
{
    private readonly uint[] words;

    private CpuFeatureSet(uint[] words) => this.words = words;

    public static CpuFeatureSet Empty { get; } = new(new uint[CpuFeatureWords.Count]);

    /// <summary>Every bit of every word: what "everything" means before it is narrowed to what an accelerator offers.</summary>
    public static CpuFeatureSet All { get; } = new(Enumerable.Repeat(uint.MaxValue, CpuFeatureWords.Count).ToArray());

    public uint this[CpuFeatureWord word] => words[(int)word];

    public static CpuFeatureSet Of(params string[] names)
    {
        var result = new uint[CpuFeatureWords.Count];
        foreach (var name in names)
        {
            var feature = CpuFeatures.Get(name);
            result[(int)feature.Word] |= feature.Mask;
        }

        return new CpuFeatureSet(result);
    }

    public static CpuFeatureSet FromWords(IReadOnlyDictionary<CpuFeatureWord, uint> values)
    {
        var result = new uint[CpuFeatureWords.Count];
        foreach (var (word, value) in values)
        {
            result[(int)word] = value;
        }

        return new CpuFeatureSet(result);
    }

    public bool Contains(CpuFeature feature) => (words[(int)feature.Word] & feature.Mask) != 0;

    public CpuFeatureSet With(CpuFeature feature, bool enabled)
    {
        var result = (uint[])words.Clone();
        result[(int)feature.Word] = enabled ? result[(int)feature.Word] | feature.Mask : result[(int)feature.Word] & ~feature.Mask;
        return new CpuFeatureSet(result);
    }

    public CpuFeatureSet Union(CpuFeatureSet other) => Combine(other, static (a, b) => a | b);

    public CpuFeatureSet Intersect(CpuFeatureSet other) => Combine(other, static (a, b) => a & b);

    /// <summary>The named features in this set, in CPUID order (for messages and docs).</summary>
    public IEnumerable<CpuFeature> Features => CpuFeatures.List.Where(Contains);

    public bool Equals(CpuFeatureSet? other) => other != null && words.AsSpan().SequenceEqual(other.words);

    public override bool Equals(object? obj) => Equals(obj as CpuFeatureSet);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (uint word in words)
        {
            hash.Add(word);
        }

        return hash.ToHashCode();
    }

    public override string ToString() => string.Join(' ', Features.Select(feature => feature.Name));

    private CpuFeatureSet Combine(CpuFeatureSet other, Func<uint, uint, uint> operation)
    {
        var result = new uint[CpuFeatureWords.Count];
        for (int index = 0; index < result.Length; index++)
        {
            result[index] = operation(words[index], other.words[index]);
        }

        return new CpuFeatureSet(result);
    }
}
