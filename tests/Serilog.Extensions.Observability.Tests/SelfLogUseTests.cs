using System.Text.RegularExpressions;

namespace Serilog.Extensions.Observability.Tests;

/// <summary>
/// A SelfLog output may throw (<c>SelfLog.Enable(TextWriter)</c> on a full disk): a report made where a failure was
/// just caught must not turn that failure into an exception for the application. Every package reports through the
/// shared <c>SafeSelfLog</c>, or inside a guard of its own.
/// </summary>
public class SelfLogUseTests
{
    // Files whose direct calls sit inside a try block that catches everything (see each file).
    static readonly string[] Guarded =
    [
        "src/Shared/SafeSelfLog.cs",
        "src/Serilog.Extensions.Observability.Redaction/Masking/ThrottledReports.cs",
    ];

    [Test]
    public void NoPackageCallsSelfLogWriteLineOutsideAGuard()
    {
        var root = PackageReadmeTests.RepositoryRoot();
        var direct = Regex.Escape("SelfLog.WriteLine(");
        var offenders = Directory.GetFiles(Path.Combine(root, "src"), "*.cs", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/'))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal) && !Guarded.Contains(f))
            .SelectMany(f => File.ReadLines(Path.Combine(root, f)).Select((line, i) => (f, line, i)))
            .Where(l => Regex.IsMatch(l.line, @"(?<!Safe)" + direct) && !l.line.TrimStart().StartsWith("///", StringComparison.Ordinal))
            .Select(l => $"{l.f}:{l.i + 1}: {l.line.Trim()}")
            .ToList();

        Assert.That(offenders, Is.Empty, "Report through SafeSelfLog.WriteLine instead.");
    }
}
