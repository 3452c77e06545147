using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SafeRefs.Analyzers.CodeFixes;

/// <summary>Picks names that do not collide with what is already in scope.</summary>
internal static class Names
{
    /// <summary>A local name unused at <paramref name="statement"/> and anywhere in its member.</summary>
    public static string UniqueLocal(SemanticModel model, StatementSyntax statement, string baseName)
    {
        var taken = new HashSet<string>(model.LookupSymbols(statement.SpanStart).Select(s => s.Name), StringComparer.Ordinal);
        var member = (SyntaxNode?)statement.FirstAncestorOrSelf<MemberDeclarationSyntax>() ?? statement.SyntaxTree.GetRoot();
        foreach (var token in member.DescendantTokens())
        {
            if (token.Parent is VariableDeclaratorSyntax or ParameterSyntax or SingleVariableDesignationSyntax or LocalFunctionStatementSyntax)
            {
                taken.Add(token.ValueText);
            }
        }

        return Unique(baseName, taken);
    }

    /// <summary>A member name unused in <paramref name="type"/> and its bases.</summary>
    public static string UniqueMember(INamedTypeSymbol type, string baseName)
    {
        var taken = new HashSet<string>(StringComparer.Ordinal);
        for (var current = type; current is not null; current = current.BaseType)
        {
            taken.UnionWith(current.MemberNames);
        }

        return Unique(baseName, taken);
    }

    /// <summary>An identifier-safe name absent from <paramref name="taken"/>.</summary>
    public static string Unique(string baseName, ISet<string> taken)
    {
        var name = baseName;
        for (var i = 2; taken.Contains(name); i++)
        {
            name = baseName + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return name;
    }
}
