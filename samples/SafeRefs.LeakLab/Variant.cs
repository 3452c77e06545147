namespace SafeRefs.LeakLab;

/// <summary>Which side of a scenario runs: the risky .NET pattern or its SafeRefs replacement.</summary>
internal enum Variant
{
    Risky,
    SafeRefs,
}
