namespace SafeRefs.Cli;

/// <summary>Entry point of the <c>dotnet-saferefs</c> tool.</summary>
internal static class Program
{
    private static int Main(string[] args) => Cli.Run(args, Console.Out, Console.Error);
}
