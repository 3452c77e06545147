using System.Globalization;

namespace SafeRefs.LeakLab;

/// <summary>Both variants of one scenario and the verdict.</summary>
internal sealed record ScenarioResult(string Name, string Title, VariantResult Risky, VariantResult Safe, int AllowedRetained = 0)
{
    /// <summary>The SafeRefs variant fixed the leak when it stayed within its bound while the risky one went past it.</summary>
    public bool Fixed => Risky.Retained > AllowedRetained && Safe.Retained <= AllowedRetained;

    public string Verdict => Fixed
        ? string.Create(CultureInfo.InvariantCulture, $"LEAK FIXED: risky kept {Risky.Retained} of {Risky.Tracked} objects alive, SafeRefs kept {Safe.Retained} (bound {AllowedRetained})")
        : string.Create(CultureInfo.InvariantCulture, $"UNEXPECTED: risky kept {Risky.Retained}, SafeRefs kept {Safe.Retained}");
}
