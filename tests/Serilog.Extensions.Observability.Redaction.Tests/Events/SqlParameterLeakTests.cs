using Serilog.Extensions.Observability.Redaction.Tests.Support;
using Serilog.Extensions.Observability.Tests.Support;

namespace Serilog.Extensions.Observability.Redaction.Tests.Events;

/// <summary>
/// Entity Framework Core's relational command events with <c>EnableSensitiveDataLogging()</c> write the parameter values
/// in one property (<c>@p0='...' (Size = 12), @p1='ann'</c>) and the SQL that says which column each one goes to in
/// another: a value bound to a sensitive column, or one that cannot be placed while the SQL names such a column, is
/// masked with <c>DetectEmbeddedCredentials</c>; the values of other columns stay readable.
/// </summary>
public class SqlParameterLeakTests
{
    /// <summary>EF Core 10's template for <c>RelationalEventId.CommandExecuted</c> (also CommandError, CommandExecuting).</summary>
    const string Executed =
        "Executed DbCommand ({elapsed}ms) [Parameters=[{parameters}], CommandType='{commandType}', CommandTimeout='{commandTimeout}']{newLine}{commandText}";

    public enum Passes { Sink, Enricher, Both }

    static string Log(string parameters, string sql, bool detect = true, string template = Executed, Passes passes = Passes.Sink)
    {
        var sink = new CollectingSink();
        var configuration = new LoggerConfiguration();
        if (passes != Passes.Sink) configuration.Enrich.WithRedaction(r => r.DetectEmbeddedCredentials = detect);
        if (passes == Passes.Enricher) configuration.WriteTo.Sink(sink);
        else configuration.WriteTo.Redacted(s => s.Sink(sink), r => r.DetectEmbeddedCredentials = detect);
        using (var logger = configuration.CreateLogger())
        {
            // Twice: the second event of a template takes the cached route.
            for (var i = 0; i < 2; i++)
                logger.Information(template, "4", parameters, "Text", 30, "\n", sql);
        }
        return Output.Render(sink.Events);
    }

    // The enricher alone, the sink wrapper alone, and both with the same rules, as AddObservability() and
    // WithObservability() run them: the second pass leaves the first one's list as it is.
    [TestCase(Passes.Sink)]
    [TestCase(Passes.Enricher)]
    [TestCase(Passes.Both)]
    public void TheValuesOfSensitiveColumnsInAnInsertAreMaskedAndTheOthersKept(Passes passes)
    {
        var text = Log(
            "@p0='key-secret-1' (Nullable = false) (Size = 12), @p1='ann' (Nullable = false) (Size = 3), " +
            "@p2='pw-secret-2' (Nullable = false) (Size = 11), @password='pw-secret-4' (Size = 11)",
            "INSERT INTO \"Users\" (\"ApiKey\", \"Name\", \"Password\", \"PasswordHash\")\nVALUES (@p0, @p1, @p2, @password)\nRETURNING \"Id\";",
            passes: passes);

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='ann' (Nullable = false) (Size = 3), @p2=[REDACTED], @password=[REDACTED]\""));
    }

    [Test]
    public void TheValuesOfSensitiveColumnsInAnUpdateAndAWhereClauseAreMasked()
    {
        var text = Log(
            "@p0='pw-secret-1' (Size = 11), @p1='42', @p2='tok-secret-2', @p3='ann'",
            "UPDATE \"Users\" SET \"Password\" = @p0\nWHERE \"Id\" = @p1 AND \"u\".\"RefreshToken\" = @p2 AND @p3 = \"u\".\"Name\"\nRETURNING 1;");

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain("@p1='42'").And.Contain("@p3='ann'"));
    }

    [Test]
    public void SqlServersOutputClauseAndMergeRowsArePlacedByPosition()
    {
        var insert = Log("@p0='key-secret-1' (Size = 4000), @p1='ann' (Size = 4000)",
            "SET IMPLICIT_TRANSACTIONS OFF;\nSET NOCOUNT ON;\nINSERT INTO [Users] ([ApiKey], [Name])\nOUTPUT INSERTED.[Id]\nVALUES (@p0, @p1);");
        var merge = Log("@p0='key-secret-1' (Size = 4000), @p1='ann' (Size = 4000), @p2='key-secret-2' (Size = 4000), @p3='bob' (Size = 4000)",
            "SET NOCOUNT ON;\nMERGE [Users] USING (\nVALUES (@p0, @p1, 0),\n(@p2, @p3, 1)) AS i ([ApiKey], [Name], _Position) ON 1=0\n" +
            "WHEN NOT MATCHED THEN\nINSERT ([ApiKey], [Name])\nVALUES (i.[ApiKey], i.[Name])\nOUTPUT INSERTED.[Id], i._Position;");

        Assert.Multiple(() =>
        {
            Assert.That(insert, Does.Not.Contain("secret-"));
            Assert.That(insert, Does.Contain("@p1='ann' (Size = 4000)"));
            Assert.That(merge, Does.Not.Contain("secret-"));
            Assert.That(merge, Does.Contain("@p1='ann' (Size = 4000)").And.Contain("@p3='bob' (Size = 4000)"));
        });
    }

    [Test]
    public void AValueThatCannotBePlacedIsMaskedWhenTheSqlNamesASensitiveColumn()
    {
        // A function around the column, and a value whose text looks like the next parameter: neither is placed.
        var text = Log("@p0='pw-secret-1', @p1='ann', @p2='x', @p9='pw-secret-2'",
            "SELECT 1 FROM \"Users\" AS \"u\" WHERE lower(\"u\".\"Password\") = @p0 AND \"u\".\"Name\" = @p1 AND \"u\".\"Password\" = @p2");

        Assert.That(text, Does.Not.Contain("secret-"));
        Assert.That(text, Does.Contain("@p1='ann'"));
    }

    [Test]
    public void ParametersOfSqlThatNamesNoSensitiveColumnKeepTheirValues()
    {
        var text = Log("@p0='42.50', @p1='ann', @__minimum_0='10'",
            "SELECT \"o\".\"Id\" FROM \"Orders\" AS \"o\" WHERE lower(\"o\".\"Customer\") = @p1 AND \"o\".\"Total\" > @p0 AND \"o\".\"Count\" > @__minimum_0");

        Assert.That(text, Does.Contain("@p0='42.50', @p1='ann', @__minimum_0='10'"));
        Assert.That(text, Does.Not.Contain(RedactionOptions.DefaultMask));
    }

    [Test]
    public void ParametersNamedAfterASecretAreMaskedWhateverTheSql()
    {
        // EF Core 8 and 9 name a captured variable "@__password_0", EF Core 10 "@password".
        var text = Log("@__password_0='pw-secret-1' (Size = 11), @password='pw-secret-2' (Size = 11), @name='ann'",
            "SELECT 1 FROM \"Users\" AS \"u\" WHERE \"u\".\"Name\" = @name AND \"u\".\"Hash\" = @__password_0 OR \"u\".\"Hash\" = @password");

        Assert.That(text, Does.Contain("\"parameters\":\"@__password_0=[REDACTED], @password=[REDACTED], @name='ann'\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    [Test]
    public void EfCoresPlaceholderWithoutSensitiveDataLoggingIsKept()
    {
        var text = Log("@p0='?' (Size = 11), @p1='?' (Size = 3)", "UPDATE \"Users\" SET \"Password\" = @p0 WHERE \"Name\" = @p1");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0='?' (Size = 11), @p1='?' (Size = 3)\""));
    }

    [Test]
    public void WithoutTheDetectorTheParameterListIsWrittenAsItIs()
    {
        // DetectEmbeddedCredentials is the opt-in this belongs to (AddObservability and WithObservability turn it on).
        var text = Log("@p0='visible-1'", "UPDATE \"Users\" SET \"Password\" = @p0", detect: false);

        Assert.That(text, Does.Contain("visible-1"));
    }

    [Test]
    public void AHoleNotIntroducedAsAParameterListIsNotReadAsOne()
    {
        var text = Log("@p0='visible-1'", "UPDATE \"Users\" SET \"Password\" = @p0",
            template: "Ran ({elapsed}ms) [Values=[{parameters}], {commandType} {commandTimeout}]{newLine}{commandText}");

        Assert.That(text, Does.Contain("visible-1"));
    }

    // Shapes read again after the first release of the reader: each value below is bound to a sensitive column somewhere.
    // A keyword or an expression beside the comparison: the column next to the operator is not what the value meets.
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE CASE WHEN \"u\".\"IsAdmin\" THEN \"u\".\"AdminKey\" ELSE \"u\".\"ApiKey\" END = @p0")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE @p0 = CASE WHEN \"u\".\"IsAdmin\" THEN \"u\".\"AdminKey\" ELSE \"u\".\"ApiKey\" END")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE \"u\".\"ApiKey\" NOT LIKE @p0")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE \"u\".\"ApiKey\" || \"u\".\"Suffix\" = @p0")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE @p0 = \"u\".\"Prefix\" || \"u\".\"ApiKey\"")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" WHERE \"u\".\"ApiKey\" COLLATE \"C\" = @p0")]
    [TestCase("@p0='ann', @p1='pw-secret-1'", "UPDATE \"Users\" SET \"Name\" = @p0, \"Password\" = @p1 WHERE \"Id\" = 1")]
    [TestCase("@p0='ann', @p1='pw-secret-1'", "UPDATE [dbo].[Users] SET [dbo].[Users].[Name] = @p0, [dbo].[Users].[Password] = @p1")]
    [TestCase("@p0='ann', @p1='pw-secret-1'", "UPDATE \"Users\" SET \"Na\"\"me\" = @p0, \"My\"\"Password\" = @p1")]
    [TestCase("@p1='ann', @p10='pw-secret-1'", "UPDATE \"Users\" SET \"Name\" = @p1, \"Password\" = @p10")]
    [TestCase("@p10='ann', @p1='pw-secret-1'", "UPDATE \"Users\" SET \"Name\" = @p10, \"Password\" = @p1")]
    [TestCase("@p0='ann', @p1='pw-secret-1'",
        "INSERT INTO \"A\" (\"Name\") VALUES (@p0) RETURNING \"Id\";\nINSERT INTO \"B\" (\"Password\") VALUES (@p1) RETURNING \"Id\";")]
    [TestCase("@p0='pw-secret-1'", "SELECT 1 FROM \"Users\" WHERE \"Name\" = @p0 OR lower(\"ApiKey\") = lower(@p0)")]
    [TestCase("@p0='pw-secret-1'", "SELECT 1 FROM \"Users\" WHERE \"Name\" = @p0 OR \"ApiKey\" IN (@p0, 'x')")]
    [TestCase("@p0='pw-secret-1'", "UPDATE \"Users\" SET \"Name\" = @p0, \"PasswordHash\" = crypt(@p0, gen_salt('bf'))")]
    [TestCase("@p0='ann', @p1='pw-secret-1'",
        "INSERT INTO [Log] ([Name]) SELECT [Name] FROM [Users] WHERE [Password] IN (SELECT * FROM (VALUES (@p1)) AS v (x))")]
    [TestCase("@p0='ann', @p1='pw-secret-1'",
        "INSERT INTO [Log] ([Name]) SELECT [Name] FROM [Users]\nINSERT INTO [Users] ([Password]) VALUES (@p1)")]
    [TestCase("@p0='pw-secret-1', @p1='ann'", "INSERT INTO \"Users\" (\"Name\", \"Password\") VALUES (@p1, @p0)")]
    [TestCase("@p0='pw-secret-1, @p1=tail-secret-2', @p1='ann'", "UPDATE \"Users\" SET \"Password\" = @p0, \"Name\" = @p1")]
    [TestCase("@password='pw-secret-1, @zz=tail-secret-2', @p1='ann'", "UPDATE \"Users\" SET \"Hash\" = @password, \"Name\" = @p1")]
    public void AValueBoundToASensitiveColumnIsMaskedWhateverTheShape(string parameters, string sql)
    {
        var text = Log(parameters, sql);

        Assert.That(text, Does.Not.Contain("secret-"));
    }

    [Test]
    public void TheValuesOfOrdinaryColumnsBesideASensitiveOneStayReadable()
    {
        var text = Log("@p0='pw-secret-1', @p1='ann', @p2='42', @p3='a%', @p4='7'",
            "UPDATE \"Users\" SET \"Password\" = @p0, \"Name\" = @p1\nWHERE \"Id\" = @p2 AND (\"Email\" LIKE @p3) AND NOT @p4 = \"Rank\" OR \"Id\" > @p2\nRETURNING 1;");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='ann', @p2='42', @p3='a%', @p4='7'\""));
    }

    [Test]
    public void ParametersTheApplicationNamedWithoutTheirPrefixArePlacedToo()
    {
        // FromSqlRaw("... @value", new SqlParameter("value", key)): EF Core writes the name as the parameter has it.
        var text = Log("value='key-secret-1' (Size = 4000), name='ann' (Size = 4000)",
            "SELECT * FROM [Users] WHERE [ApiKey] = @value AND [Name] = @name");

        Assert.That(text, Does.Contain("\"parameters\":\"value=[REDACTED], name='ann' (Size = 4000)\""));
    }

    // A table that holds secrets names them by its own name, not by its columns' ("ApiKeys"."Value", "Secrets"."Data"):
    // every value of a statement on it is masked, the plain columns' too.
    [TestCase("@p0='key-secret-1', @p1='42'", "INSERT INTO \"ApiKeys\" (\"Value\", \"UserId\") VALUES (@p0, @p1) RETURNING \"Id\";")]
    [TestCase("@p0='key-secret-1'", "SELECT \"a\".\"Id\" FROM \"ApiKeys\" AS \"a\" WHERE \"a\".\"Value\" = @p0 LIMIT 1")]
    [TestCase("@p0='key-secret-1', @p1='7'", "UPDATE [dbo].[ClientSecrets] SET [Data] = @p0 WHERE [Id] = @p1;")]
    [TestCase("@p0='key-secret-1'", "SELECT 1 FROM \"Users\" AS \"u\" INNER JOIN \"ApiTokens\" AS \"t\" ON \"u\".\"Id\" = \"t\".\"UserId\" WHERE \"t\".\"Value\" = @p0")]
    public void EveryValueOfAStatementOnASensitiveTableIsMasked(string parameters, string sql)
    {
        var text = Log(parameters, sql);

        Assert.That(text, Does.Not.Contain("secret-").And.Not.Contain("'42'").And.Not.Contain("'7'"));
        Assert.That(text, Does.Contain("@p0=[REDACTED]"));
    }

    [Test]
    public void ATableWhoseNameIsNotSensitiveLeavesItsPlainColumnsReadable()
    {
        var text = Log("@p0='ann', @p1='42'", "INSERT INTO \"Customers\" (\"Name\", \"Rank\") VALUES (@p0, @p1);");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0='ann', @p1='42'\""));
    }

    [Test]
    public void AValueComparedWithASensitiveColumnRenamedInASubqueryIsMasked()
    {
        // EF Core names a subquery's columns after the projection's members (new { Secret = u.Password } reads "Secret");
        // here renamed twice, to names that say nothing: the value meets the password all the same.
        var text = Log("@p0='pw-secret-1' (Size = 11), @p1='ann' (Size = 3)",
            "SELECT \"t\".\"a\" FROM (\n    SELECT \"x\".\"c1\" AS \"a\", \"x\".\"n\"\n    FROM (\n        SELECT \"u\".\"Password\" AS \"c1\", \"u\".\"Name\" AS \"n\"\n" +
            "        FROM \"Users\" AS \"u\"\n    ) AS \"x\"\n) AS \"t\"\nWHERE \"t\".\"a\" = @p0 AND \"t\".\"n\" = @p1");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='ann' (Size = 3)\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    [Test]
    public void AColumnCastToATypeDoesNotMakeTheColumnsNamedAfterTheTypeSensitive()
    {
        // CAST("u"."Password" AS TEXT) converts the password, it does not rename it: "p"."Text" is another column, and the
        // value compared with the cast (which no column places) is masked as before.
        var text = Log("@p0='pw-secret-1' (Size = 11), @p1='hello' (Size = 5)",
            "SELECT \"p\".\"Id\" FROM \"Posts\" AS \"p\" INNER JOIN \"Users\" AS \"u\" ON \"u\".\"Id\" = \"p\".\"AuthorId\"\n" +
            "WHERE CAST(\"u\".\"Password\" AS TEXT) = @p0 AND \"p\".\"Text\" = @p1");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='hello' (Size = 5)\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    // A sensitive column renamed through an expression carries the secret under the new name all the same: a function
    // around it, a CASE that yields it, a concatenation, a cast, a scalar subquery that selects it. The value compared
    // with that name (in the query around, or in the same one, as SQLite allows) is masked; the other values are kept.
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", COALESCE(\"u\".\"ApiKey\", '') AS \"k\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"k\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", CASE\n        WHEN \"u\".\"IsAdmin\" THEN \"u\".\"Password\"\n    END AS \"x\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"x\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", \"u\".\"ApiKey\" || '' AS \"y\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"y\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", CAST(\"u\".\"Password\" AS TEXT) AS \"c\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"c\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", \"u\".\"Password\"::text AS \"c\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"c\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT [t].[Id] FROM (\n    SELECT [u].[Id], (\n        SELECT TOP(1) [s].[Token]\n        FROM [Sessions] AS [s]\n        WHERE [s].[UserId] = [u].[Id]) AS [c], [u].[Name]\n    FROM [Users] AS [u]\n) AS [t]\nWHERE [t].[c] = @p0 AND [t].[Name] = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"x\".\"Id\", upper(\"x\".\"k\") AS \"k2\", \"x\".\"Name\" FROM (\n        SELECT \"u\".\"Id\", lower(\"u\".\"ApiKey\") AS \"k\", \"u\".\"Name\" FROM \"Users\" AS \"u\"\n    ) AS \"x\"\n) AS \"t\"\nWHERE \"t\".\"k2\" = @p0 AND \"t\".\"Name\" = @p1")]
    [TestCase("SELECT COALESCE(\"u\".\"ApiKey\", '') AS \"k\", \"u\".\"Name\" FROM \"Users\" AS \"u\" WHERE \"k\" = @p0 AND \"u\".\"Name\" = @p1")]
    // PostgreSQL's DISTINCT ON (...) starts the select list: its ON is no join condition that would make the items tested.
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT DISTINCT ON (\"u\".\"Id\") \"u\".\"Id\", \"u\".\"ApiKey\" AS \"k\", \"u\".\"Name\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"k\" = @p0 AND \"t\".\"Name\" = @p1")]
    public void AValueComparedWithASensitiveColumnRenamedThroughAnExpressionIsMasked(string sql)
    {
        var text = Log("@p0='key-secret-1' (Size = 12), @p1='ann' (Size = 3)", sql);

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='ann' (Size = 3)\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    // What an expression only tests or orders by does not flow into its result: a CASE's WHEN condition, a window's
    // OVER (PARTITION BY ... ORDER BY ...), and the table alias of a derived table that holds a secret.
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", CASE\n        WHEN \"u\".\"Password\" IS NULL THEN 'none'\n        ELSE \"u\".\"Name\"\n    END AS \"n\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"n\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", ROW_NUMBER() OVER(PARTITION BY \"u\".\"ApiKey\" ORDER BY \"u\".\"Id\") AS \"row\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"row\" <= @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", \"u\".\"Password\" AS \"c1\"\n    FROM \"Users\" AS \"u\"\n) AS \"t\"\nWHERE \"t\".\"Id\" = @p1")]
    public void AValueComparedWithAnExpressionThatOnlyTestsASecretIsKept(string sql)
    {
        var text = Log("@p1='ann' (Size = 3)", sql);

        Assert.That(text, Does.Contain("\"parameters\":\"@p1='ann' (Size = 3)\""));
    }

    [Test]
    public void ANameGivenToASecretInOneSubqueryMasksAValueComparedWithThatNameInAnother()
    {
        // Names are not scoped per subquery: "c" of "a" is the password, "c" of "b" is a name, and a value compared with
        // either is masked (more than needed, never less).
        var text = Log("@p0='ann' (Size = 3)",
            "SELECT \"a\".\"Id\" FROM (SELECT \"u\".\"Id\", \"u\".\"Password\" AS \"c\" FROM \"Users\" AS \"u\") AS \"a\"\n" +
            "INNER JOIN (SELECT \"o\".\"UserId\", \"o\".\"Customer\" AS \"c\" FROM \"Orders\" AS \"o\") AS \"b\" ON \"a\".\"Id\" = \"b\".\"UserId\"\n" +
            "WHERE \"b\".\"c\" = @p0");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED]\""));
    }

    // Eight renames are followed; a ninth is not, and then no value placed on a plain column is trusted (fail closed).
    [TestCase(8, "\"parameters\":\"@p0=[REDACTED], @p1='ann' (Size = 3)\"")]
    [TestCase(9, "\"parameters\":\"@p0=[REDACTED], @p1=[REDACTED]\"")]
    public void RenamesAreFollowedUpToALimitAndBeyondItNoPlainColumnIsTrusted(int renames, string expected)
    {
        var sql = "SELECT \"u\".\"Password\" AS \"c1\", \"u\".\"Name\" AS \"n\" FROM \"Users\" AS \"u\"";
        for (var level = 2; level <= renames; level++)
            sql = $"SELECT \"t\".\"c{level - 1}\" AS \"c{level}\", \"t\".\"n\" FROM ({sql}) AS \"t\"";
        var text = Log("@p0='pw-secret-1' (Size = 11), @p1='ann' (Size = 3)",
            $"SELECT \"t\".\"n\" FROM ({sql}) AS \"t\" WHERE \"t\".\"c{renames}\" = @p0 AND \"t\".\"n\" = @p1");

        Assert.That(text, Does.Contain(expected));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    [Test]
    public void MoreRenamedSecretsThanTheNamesKeptMasksTheValuesPlacedOnPlainColumns()
    {
        // 65 names for the password, one more than are kept: the last one is not known, so no value placed on a plain
        // column is trusted (fail closed).
        var items = string.Join(", ", Enumerable.Range(1, 65).Select(i => $"\"u\".\"Password\" AS \"c{i}\""));
        var text = Log("@p0='pw-secret-1' (Size = 11), @p1='ann' (Size = 3)",
            $"SELECT \"t\".\"Id\" FROM (SELECT \"u\".\"Id\", \"u\".\"Name\", {items} FROM \"Users\" AS \"u\") AS \"t\" WHERE \"t\".\"c65\" = @p0 AND \"t\".\"Name\" = @p1");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1=[REDACTED]\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    [Test]
    public void WithinTheLimitsTheValuesOfPlainColumnsBesideManyRenamedSecretsStayReadable()
    {
        var items = string.Join(", ", Enumerable.Range(1, 64).Select(i => $"\"u\".\"Password\" AS \"c{i}\""));
        var text = Log("@p0='pw-secret-1' (Size = 11), @p1='ann' (Size = 3)",
            $"SELECT \"t\".\"Id\" FROM (SELECT \"u\".\"Id\", \"u\".\"Name\", {items} FROM \"Users\" AS \"u\") AS \"t\" WHERE \"t\".\"c64\" = @p0 AND \"t\".\"Name\" = @p1");

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='ann' (Size = 3)\""));
    }
    // A query's columns renamed by position rather than by AS: a CTE's column list, a derived table's column alias list
    // (over a query or VALUES rows), the column list of an INSERT ... SELECT, and an ordered-set aggregate whose value is
    // the column it orders by. The value compared with the name the secret takes is masked; the other values are kept.
    [TestCase("WITH \"t\" (\"id\", \"k\") AS (\n    SELECT \"u\".\"Id\", \"u\".\"ApiKey\" FROM \"Users\" AS \"u\"\n)\nSELECT 1 FROM \"t\" WHERE \"t\".\"k\" = @p0 AND \"t\".\"id\" = @p1")]
    [TestCase("WITH t(k) AS (SELECT \"ApiKey\" FROM \"Users\") SELECT * FROM t WHERE k = @p0 AND \"Name\" = @p1")]
    [TestCase("WITH RECURSIVE a (n) AS (SELECT 1), t (id, k) AS MATERIALIZED (SELECT \"Id\", \"ApiKey\" FROM \"Users\") SELECT * FROM t WHERE k = @p0 AND id = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\") AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\") t (id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("SELECT 1 FROM \"Orders\" AS o INNER JOIN (SELECT \"Id\", \"ApiKey\" FROM \"Users\") AS t (id, k) ON o.\"UserId\" = t.id WHERE t.k = @p0 AND o.\"Id\" = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\" UNION ALL SELECT 1, 'x') AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("SELECT * FROM (VALUES (1, (SELECT \"ApiKey\" FROM \"Users\" LIMIT 1)), (2, 'x')) AS v(id, k) WHERE v.k = @p0 AND v.id = @p1")]
    [TestCase("INSERT INTO \"Archive\" (\"Id\", \"Note\") SELECT \"Id\", \"Password\" FROM \"Users\";\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1")]
    [TestCase("INSERT INTO [Archive] ([Id], [Note]) SELECT [Id], 'none' FROM [Orders] UNION SELECT [Id], [Password] FROM [Users];\nSELECT 1 FROM [Archive] WHERE [Note] = @p0 AND [Id] = @p1")]
    [TestCase("INSERT INTO \"Archive\" (\"Id\", \"Note\") VALUES (1, (SELECT \"Password\" FROM \"Users\" LIMIT 1));\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1")]
    [TestCase("WITH x (id, k) AS (INSERT INTO \"Logins\" (\"UserId\") VALUES (1) RETURNING \"Id\", \"ApiKey\") SELECT 1 FROM x WHERE x.k = @p0 AND x.id = @p1")]
    [TestCase("WITH x AS (INSERT INTO \"Archive\" (\"Id\", \"Note\") SELECT \"Id\", \"Password\" FROM \"Users\" RETURNING \"Id\")\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1")]
    [TestCase("SELECT \"t\".\"Id\" FROM (\n    SELECT \"u\".\"Id\", PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY \"u\".\"ApiKey\") AS \"m\"\n    FROM \"Users\" AS \"u\" GROUP BY \"u\".\"Id\"\n) AS \"t\"\nWHERE \"t\".\"m\" = @p0 AND \"t\".\"Id\" = @p1")]
    [TestCase("SELECT * FROM (SELECT DISTINCT ON (\"Id\") \"Id\", \"ApiKey\" FROM \"Users\" ORDER BY \"Id\") AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("WITH t(k) AS (SELECT \"ApiKey\" FROM \"Users\") SELECT *FROM t WHERE k = @p0 AND \"Name\" = @p1")]
    [TestCase("SELECT *FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\") AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("SELECT t.*FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\") AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("WITH t(k) AS (SELECT \"ApiKey\"FROM \"Users\") SELECT * FROM t WHERE k = @p0 AND \"Name\" = @p1")]
    [TestCase("SELECT * FROM(SELECT \"Id\", \"ApiKey\" FROM \"Users\")AS t(id, k) WHERE t.k = @p0 AND t.id = @p1")]
    // A star inside an item is no column list (COUNT(*), a product, a comment's end), however it touches its neighbours.
    [TestCase("SELECT * FROM (SELECT COUNT(*)n, \"ApiKey\" FROM \"Users\" GROUP BY \"ApiKey\") AS t(c, k) WHERE t.k = @p0 AND t.c = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\"*2, price*qty, \"ApiKey\"::text FROM \"Users\") AS t(id, p, k) WHERE t.k = @p0 AND t.id = @p1")]
    [TestCase("SELECT * FROM (SELECT /* a *//**/\"Id\", x.y*z /* b */, \"ApiKey\" FROM \"Users\") AS t(id, n, k) WHERE t.k = @p0 AND t.id = @p1")]
    public void AValueComparedWithASensitiveColumnRenamedByPositionIsMasked(string sql)
    {
        var text = Log("@p0='key-secret-1' (Size = 12), @p1='42'", sql);

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1='42'\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    // The parameters an INSERT ... SELECT writes by position go to the column of the INSERT's list at their position.
    [TestCase("@p0='ann', @p1='pw-secret-1'", "INSERT INTO \"Users\" (\"Name\", \"Password\") SELECT @p0, @p1",
        "@p0='ann', @p1=[REDACTED]")]
    [TestCase("@p0='ann', @p1='pw-secret-1', @p2='bob', @p3='pw-secret-2'",
        "INSERT INTO \"Users\" (\"Name\", \"Password\") SELECT @p0, @p1 UNION ALL SELECT @p2, @p3;",
        "@p0='ann', @p1=[REDACTED], @p2='bob', @p3=[REDACTED]")]
    [TestCase("@p0='ann', @p1='pw-secret-1', @p2='bob'",
        "INSERT INTO [Users] ([Name], [Password]) OUTPUT INSERTED.[Id] SELECT DISTINCT @p0, @p1 WHERE NOT EXISTS (SELECT 1 FROM [Users] WHERE [Name] = @p2)",
        "@p0='ann', @p1=[REDACTED], @p2='bob'")]
    public void TheParametersOfAnInsertSelectArePlacedByPosition(string parameters, string sql, string expected)
    {
        var text = Log(parameters, sql);

        Assert.That(text, Does.Contain($"\"parameters\":\"{expected}\""));
        Assert.That(text, Does.Not.Contain("secret-"));
    }

    // Where a list that renames a secret's query by position cannot be read, no value placed on a plain column is trusted.
    [TestCase("SELECT 1 FROM \"Users\" AS u, LATERAL json_to_record(u.\"Secrets\") AS x(k text) WHERE x.k = @p0 AND u.\"Id\" = @p1")]
    [TestCase("WITH t(k, 2) AS (SELECT \"ApiKey\" FROM \"Users\") SELECT * FROM t WHERE k = @p0 AND \"Id\" = @p1")]
    public void AnUnreadableListThatRenamesASecretByPositionMasksThePlainColumnsToo(string sql)
    {
        var text = Log("@p0='key-secret-1' (Size = 12), @p1='42'", sql);

        Assert.That(text, Does.Contain("\"parameters\":\"@p0=[REDACTED], @p1=[REDACTED]\""));
    }

    // A list that renames by position only what holds no secret leaves the values compared with its names readable.
    [TestCase("WITH t(id, n) AS (SELECT \"Id\", \"Name\" FROM \"Users\" WHERE \"ApiKey\" IS NOT NULL) SELECT * FROM t WHERE n = @p0 AND id = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\", \"Name\" FROM \"Users\" ORDER BY \"Password\") AS t(id, n) WHERE t.n = @p0 AND t.id = @p1")]
    [TestCase("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(id, n) INNER JOIN \"Users\" AS u ON u.\"Id\" = v.id WHERE v.n = @p0 AND u.\"Id\" = @p1 AND u.\"ApiKey\" IS NULL")]
    [TestCase("INSERT INTO \"Archive\" (\"Id\", \"Note\") SELECT \"Id\", \"Name\" FROM \"Users\" WHERE \"Password\" IS NULL;\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1")]
    [TestCase("SELECT * FROM generate_series(1, 3) AS g(n) INNER JOIN \"Users\" AS u ON u.\"Id\" = g.n WHERE g.n = @p0 AND u.\"Id\" = @p1 AND u.\"ApiKey\" IS NULL")]
    [TestCase("SELECT [u].[Id] FROM [Users] AS [u] OUTER APPLY (SELECT TOP(1) [s].[Token] FROM [Sessions] AS [s]) AS [t]\n" +
        "WHERE [u].[Id] IN (SELECT [i].[value] FROM OPENJSON(N'[1]') WITH ([value] int '$') AS [i]) AND [u].[Name] = @p0 AND [u].[Id] = @p1")]
    [TestCase("SELECT \"Id\" FROM \"Users\" WHERE \"Id\" IN ((SELECT \"Id\" FROM \"Keys\" WHERE \"ApiKey\" IS NULL) UNION (SELECT \"Id\" FROM \"B\"))\n" +
        "AND \"Name\" = @p0 AND \"Id\" = @p1")]
    [TestCase("SELECT t.n FROM (SELECT \"Name\" AS n, \"Id\" AS id, max(\"ApiKey\") OVER (PARTITION BY \"Id\") AS m FROM \"Users\") AS t WHERE t.n = @p0 AND t.id = @p1")]
    [TestCase("INSERT INTO \"Users\" (\"Name\", \"Email\") VALUES (@p0, @p1) RETURNING \"Id\", \"ApiKey\";")]
    [TestCase("SELECT * FROM (SELECT COUNT(*)n, \"Name\", \"ApiKey\" FROM \"Users\" GROUP BY \"Name\", \"ApiKey\") AS t(c, n, k) WHERE t.n = @p0 AND t.c = @p1")]
    [TestCase("SELECT * FROM (SELECT \"Id\"*2, price*qty::numeric, \"ApiKey\" FROM \"Users\") AS t(id, p, k) WHERE t.p = @p0 AND t.id = @p1")]
    public void ANameGivenByPositionToAPlainColumnBesideASecretIsKept(string sql)
    {
        var text = Log("@p0='ann', @p1='42'", sql);

        Assert.That(text, Does.Contain("\"parameters\":\"@p0='ann', @p1='42'\""));
    }
    // A * renames whatever its sources hold, in a number of columns not known here: from its position on, every name
    // of the list is taken for a secret when a source yields one (a derived table, a CTE), and kept when none does.
    [TestCase("WITH t(id, k) AS (SELECT * FROM (SELECT \"Id\", \"ApiKey\" FROM \"Users\") AS x) SELECT * FROM t WHERE k = @p0 AND id = @p1",
        "@p0=[REDACTED], @p1=[REDACTED]")]
    [TestCase("WITH t(id, k) AS (SELECT 1, x.* FROM (SELECT \"ApiKey\" FROM \"Users\") AS x) SELECT * FROM t WHERE k = @p0 AND id = @p1",
        "@p0=[REDACTED], @p1='42'")]
    [TestCase("WITH s AS (SELECT \"Id\", \"Password\" FROM \"Users\")\nINSERT INTO \"Archive\" (\"Id\", \"Note\") SELECT * FROM s;\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1",
        "@p0=[REDACTED], @p1=[REDACTED]")]
    [TestCase("INSERT INTO \"Archive\" (\"Id\", \"Note\") SELECT * FROM \"Orders\";\nSELECT 1 FROM \"Archive\" WHERE \"Note\" = @p0 AND \"Id\" = @p1 AND \"ApiKey\" IS NULL",
        "@p0='key-secret-1' (Size = 12), @p1='42'")]
    [TestCase("WITH t(k) AS (SELECT * FROM (SELECT \"ApiKey\" FROM \"Users\" u) x)\nSELECT DISTINCT n FROM \"Orders\" WHERE n = @p1 AND EXISTS (SELECT 1 FROM t WHERE k = @p0)",
        "@p0=[REDACTED], @p1='42'")]
    public void AStarRenamesEveryColumnFromItsPositionWhenASourceYieldsASecret(string sql, string expected)
    {
        var text = Log("@p0='key-secret-1' (Size = 12), @p1='42'", sql);

        Assert.That(text, Does.Contain($"\"parameters\":\"{expected}\""));
    }
}
