using System.Collections;

namespace Serilog.Extensions.Observability.Redaction.Tests.Support;

public class Login
{
    public string? User { get; set; }
    public string? Password { get; set; }
    public string? ApiKey { get; set; }
    public int TokenCount { get; set; }
    public Login? Next { get; set; }
}

public record Account(string Name, string ConnectionString, int MaxTokens);

public record Tagged(string Name, IEnumerable<string> Notes);

public class Customer
{
    public string? Name { get; set; }

    [Sensitive]
    public string? Nickname { get; set; }

    [NotLogged]
    public string? Notes
    {
        get
        {
            NotesRead++;
            return "never logged";
        }
    }

    public static int NotesRead;
}

public record Patient(string Name, [property: Sensitive] string Diagnosis, [property: NotLogged] string Record);

public class Derived : Customer
{
    public string? Extra { get; set; }
}

public class ThrowingGetter
{
    public string Fine => "fine";
    public string Broken => throw new InvalidOperationException("getter failed");
    public string Password => throw new InvalidOperationException("secret getter failed");
}

public class ThrowingToString
{
    public override string ToString() => throw new InvalidOperationException("ToString failed");
}

public class HoldsThrowingToString
{
    public string Name => "holder";
    public ThrowingToString Inner { get; } = new();
}

public class Node
{
    public string? Name { get; set; }
    public Node? Child { get; set; }
    public Node? Parent { get; set; }
}

public struct Point
{
    public int X { get; set; }
    public int Y { get; set; }
    public string? Secret { get; set; }
}

/// <summary>Twenty members, one of them sensitive: the benchmark's shape, reused to compare with Serilog.</summary>
public class Wide
{
    public int A1 { get; set; } = 1;
    public int A2 { get; set; } = 2;
    public string A3 { get; set; } = "three";
    public string A4 { get; set; } = "four";
    public long A5 { get; set; } = 5;
    public double A6 { get; set; } = 6.5;
    public bool A7 { get; set; } = true;
    public DateTime A8 { get; set; } = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
    public Guid A9 { get; set; } = Guid.Parse("9d7c1e5a-9f44-4c39-8c4a-2a1b0e3f6a01");
    public string A10 { get; set; } = "ten";
    public int A11 { get; set; } = 11;
    public int A12 { get; set; } = 12;
    public string A13 { get; set; } = "thirteen";
    public decimal A14 { get; set; } = 14.5m;
    public int? A15 { get; set; } = 15;
    public string? A16 { get; set; }
    public DayOfWeek A17 { get; set; } = DayOfWeek.Friday;
    public TimeSpan A18 { get; set; } = TimeSpan.FromSeconds(18);
    public string A19 { get; set; } = "nineteen";
    public int[] A20 { get; set; } = { 1, 2 };
}

public sealed class CountingEnumerable : IEnumerable<int>
{
    readonly int _count;
    public CountingEnumerable(int count) => _count = count;
    public int Pulled { get; private set; }

    public IEnumerator<int> GetEnumerator()
    {
        for (var i = 0; i < _count; i++)
        {
            Pulled++;
            yield return i;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

public struct SafePoint
{
    public int X { get; set; }
    public int Y { get; set; }
    public string? Label { get; set; }
}

public class SafeBase
{
    public string? Name { get; set; }
    public int Hidden { get; set; } = 1;
    protected string Protected => "not logged by Serilog";
    public static string Static => "not logged by Serilog";
    public string this[int index] => "indexer";
}

public class SafeDerived : SafeBase
{
    public string? Extra { get; set; }
    public new int Hidden { get; set; }
    public string WriteOnly { set { } }
}

public class SafeThrowingGetter
{
    public string Fine => "fine";
    public string Broken => throw new InvalidOperationException("getter failed");
}

public class HoldsSpan
{
    public ReadOnlySpan<char> Text => "abc".AsSpan();
    public string Name => "n";
}

public class ThrowingRefGetter
{
    public ref int Value => throw new InvalidOperationException("getter failed");
    public string Name => "n";
}

/// <summary>A base whose attributed member a type in another assembly inherits (see <c>OtherAssembly</c>).</summary>
public class AttributedBase
{
    [Sensitive]
    public string? Nickname { get; set; }

    [NotLogged]
    public string? Notes { get; set; }

    public string? Label { get; set; }
}

