namespace SafeRefs.LeakLab.Tests;

public sealed class CliTests
{
    private static readonly string[] Names = ["listeners", "cache"];

    [Fact]
    public void Parse_NoArguments_Defaults()
    {
        var (options, error, help) = Cli.Parse([], Names);

        Assert.Null(error);
        Assert.False(help);
        Assert.Equal(new LabOptions(null, null, LabOptions.DefaultPlotPath, null), options);
    }

    [Fact]
    public void Parse_AllOptions_Parsed()
    {
        var (options, _, _) = Cli.Parse(["--scenario", "Cache", "--iterations", "50", "--plot", "a.svg", "--json", "r.json"], Names);

        Assert.Equal(new LabOptions("cache", 50, "a.svg", "r.json"), options);
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("--scenario", "nope")]
    [InlineData("--iterations", "0")]
    [InlineData("--iterations", "-3")]
    [InlineData("--iterations", "many")]
    [InlineData("--iterations")]
    [InlineData("--plot", "--json", "x")]
    public void Parse_BadArguments_ErrorMessage(params string[] args)
    {
        var (options, error, help) = Cli.Parse(args, Names);

        Assert.Null(options);
        Assert.False(help);
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void Parse_Help_RequestsHelp()
    {
        var (_, _, help) = Cli.Parse(["--iterations", "5", "--help"], Names);

        Assert.True(help);
        Assert.Contains("--scenario", Cli.Usage(Names), StringComparison.Ordinal);
    }
}
