namespace SafeRefs.Tests.Subscriptions;

/// <summary>An event shape with by-reference parameters.</summary>
public delegate int Counted(ref int total, out string? label, in long stamp);
