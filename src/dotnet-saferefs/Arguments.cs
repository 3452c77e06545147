using System.Globalization;

namespace SafeRefs.Cli;

/// <summary>Parses <c>--name value</c> options and positional arguments of one command.</summary>
internal sealed class Arguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Arguments(IEnumerable<string> args, params string[] known)
        : this(args, [], known)
    {
    }

    /// <param name="args">The arguments after the command name.</param>
    /// <param name="flags">The options that take no value (present or absent).</param>
    /// <param name="known">The options that take a value.</param>
    public Arguments(IEnumerable<string> args, string[] flags, params string[] known)
    {
        var positional = new List<string>();
        using IEnumerator<string> e = args.GetEnumerator();
        while (e.MoveNext())
        {
            string arg = e.Current;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                string name = arg;
                string? value = null;
                int eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    name = arg[..eq];
                    value = arg[(eq + 1)..];
                }

                if (value is null && flags.Contains(name))
                {
                    _flags.Add(name);
                    continue;
                }

                if (!known.Contains(name))
                {
                    throw new UsageException($"unknown option '{name}'");
                }

                if (value is null)
                {
                    if (!e.MoveNext())
                    {
                        throw new UsageException($"option '{name}' needs a value");
                    }

                    value = e.Current;
                }

                _options[name] = value;
            }
            else
            {
                positional.Add(arg);
            }
        }

        Positional = positional;
    }

    public IReadOnlyList<string> Positional { get; }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Optional(string name)
    {
        _used.Add(name);
        return _options.TryGetValue(name, out string? value) ? value : null;
    }

    public string Required(string name) =>
        Optional(name) ?? throw new UsageException($"missing {name}");

    public int Int(string name, int? fallback, int minimum)
    {
        string? text = fallback is null ? Required(name) : Optional(name);
        if (text is null)
        {
            return fallback!.Value;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < minimum)
        {
            throw new UsageException($"{name} must be a whole number of at least {minimum}, not '{text}'");
        }

        return value;
    }

    public double Double(string name, double fallback)
    {
        string? text = Optional(name);
        if (text is null)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0))
        {
            throw new UsageException($"{name} must be a positive number, not '{text}'");
        }

        return value;
    }

    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        string? text = Optional(name);
        return text is null ? fallback : ParseDuration(name, text);
    }

    /// <summary>Parses <c>500ms</c>, <c>10s</c>, <c>2m</c>, <c>1h</c>, or a plain number of seconds.</summary>
    public static TimeSpan ParseDuration(string name, string text)
    {
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 0.001),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1.0),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60.0),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3600.0),
            _ => (text, 1.0),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0) || value * scale > 86_400)
        {
            throw new UsageException($"{name} must be a duration such as 500ms, 10s, 2m or 1h (at most a day), not '{text}'");
        }

        return TimeSpan.FromSeconds(value * scale);
    }
}
