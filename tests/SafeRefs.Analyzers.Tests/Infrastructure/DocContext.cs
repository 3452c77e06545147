namespace SafeRefs.Analyzers.Tests.Infrastructure;

/// <summary>The usings and small types the examples of docs/analyzers/*.md take for granted.</summary>
internal static class DocContext
{
    public const string Source = """
        global using System;
        global using System.Collections.Generic;
        global using System.Threading;
        global using System.Threading.Tasks;

        /// <summary>A long-lived object reached through a static property, like an app-wide settings store.</summary>
        public sealed class Settings
        {
            public static Settings Default { get; } = new();
            public event EventHandler? Saved;
            public void Save() => Saved?.Invoke(this, EventArgs.Empty);
        }

        /// <summary>A pooled, reusable object with an event.</summary>
        public sealed class Connection
        {
            public event EventHandler? Closed;
            public void Close() => Closed?.Invoke(this, EventArgs.Empty);
        }
        """;
}
