using System.Text;
using Serilog.Events;
using Serilog.Extensions.Observability.Redaction.Keys;
using Serilog.Extensions.Observability.Redaction.Masking;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The parameter values a data access library writes beside its SQL, as Entity Framework Core's relational command
/// events do with <c>EnableSensitiveDataLogging()</c>: <c>[Parameters=[{parameters}], ...]{newLine}{commandText}</c>,
/// one property holding <c>@p0='...' (Size = 12), @p1='ann'</c> and another <c>INSERT INTO "Users" ("ApiKey", "Name")
/// VALUES (@p0, @p1)</c>. A generated name (<c>@p0</c>) says nothing of its value: the SQL says which column each
/// parameter is written to or compared with. A value is masked when its parameter's name is sensitive, when the SQL binds
/// it to a sensitive column, or when the SQL cannot place it while it names a sensitive identifier (fail closed).
/// </summary>
/// <remarks>
/// Runs only for an event whose template introduces a hole with <c>Parameters=[</c> (found once per template by
/// <see cref="TemplateCredentialHoles"/>), and then only when that property is a string starting with a parameter. The
/// SQL is read as tokens, without a grammar: <c>column op @p</c>, <c>@p op column</c>, <c>INSERT INTO t (columns) ...
/// VALUES (row), (row)</c>, <c>INSERT INTO t (columns) SELECT @p0, @p1</c> and SQL Server's <c>VALUES (row), (row)) AS i
/// (columns)</c> place parameters; a sensitive column renamed in a subquery, as it is or through an expression that
/// yields it (<c>"u"."Password" AS "c1"</c>, <c>COALESCE("u"."ApiKey", '') AS "k"</c>), or by position in a list of
/// names (<c>WITH t (k) AS (...)</c>, <c>(...) AS t (k)</c>, <c>INSERT INTO t (k) SELECT ...</c>), is sensitive under
/// its new name too.
/// </remarks>
static class SqlParameterList
{
    /// <summary>Whether a template's text right before a hole introduces a parameter list.</summary>
    public static bool Introduces(string textBefore) => textBefore.EndsWith("Parameters=[", StringComparison.OrdinalIgnoreCase);

    /// <summary>An entry of the list; its name without the prefix (<c>@</c>, <c>:</c>) the application may have left out.</summary>
    readonly record struct Entry(int NameStart, int NameEnd, int ValueStart, int ValueEnd);

    /// <summary>
    /// The list with the values of sensitive parameters masked, or <see langword="null"/> when none is; the SQL is read
    /// from every other string of the event that names one of the parameters.
    /// </summary>
    public static string? Redact(string list, string listProperty, IReadOnlyDictionary<string, LogEventPropertyValue> properties,
        KeyMatcher keys, Masker masker)
    {
        if (list.Length < 3 || !(IsParameterStart(list[0]) || IsNameStart(list[0]))) return null;
        var entries = Entries(list);
        if (entries.Count == 0) return null;

        // Per entry: 0 not placed, 1 placed on columns that are not sensitive, 2 sensitive.
        var states = new byte[entries.Count];
        var toPlace = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            var name = list.AsSpan(entries[i].NameStart, entries[i].NameEnd - entries[i].NameStart);
            if (keys.IsSensitiveTextKey(name)) states[i] = 2;
            else if (!IsPlaceholder(list, entries[i])) toPlace++;
        }

        // Without sensitive data logging every value is "'?'": the SQL need not be read.
        var namesSensitiveIdentifier = false;
        if (toPlace > 0)
        {
            List<(string Sql, List<Token> Tokens, bool NamesSensitive)>? read = null;
            // Per entry: how often the SQL names its parameter, and how many of those the reader placed.
            var occurrences = new int[entries.Count];
            var placed = new int[entries.Count];
            var renamesFollowed = true;
            foreach (var property in properties)
            {
                if (property.Key == listProperty || property.Value is not ScalarValue { Value: string sql } || !NamesAny(sql, list, entries)) continue;
                var tokens = Tokenize(sql);
                var sensitive = SensitiveTokens(tokens, sql, keys, out var namesSensitive);
                Count(tokens, sql, list, entries, occurrences);
                // Only a sensitive column can be renamed to a sensitive name.
                List<string>? aliases = null;
                if (namesSensitive)
                {
                    aliases = SensitiveAliases(tokens, sql, sensitive, out var followed);
                    renamesFollowed &= followed;
                }
                Place(tokens, sql, list, entries, states, placed, keys, aliases);
                (read ??= new()).Add((sql, tokens, namesSensitive));
            }
            Settle(list, entries, states, occurrences, placed);
            // A secret renamed more often than the reader follows may sit under a name it took for a plain column: no
            // value placed on one is trusted then (the SQL names a sensitive column, so each is masked below).
            if (!renamesFollowed)
            {
                for (var i = 0; i < states.Length; i++)
                {
                    if (states[i] == 1) states[i] = 0;
                }
            }
            // A table that holds secrets ("ApiKeys", "ClientSecrets") may name them by its own name only ("Value",
            // "Data"): a value placed on a plain column of a statement that reads or writes such a table is masked too.
            if (read is not null && HasPlacedPlain(states))
            {
                foreach (var (sql, tokens, _) in read)
                {
                    if (!NamesSensitiveTable(sql, tokens, keys)) continue;
                    for (var i = 0; i < states.Length; i++)
                    {
                        if (states[i] == 1) states[i] = 2;
                    }
                    break;
                }
            }
            // Only a value the SQL did not place makes its identifiers matter.
            if (read is not null && HasUnplaced(list, entries, states))
            {
                foreach (var (_, _, namesSensitive) in read)
                {
                    if (namesSensitive)
                    {
                        namesSensitiveIdentifier = true;
                        break;
                    }
                }
            }
        }

        StringBuilder? result = null;
        var copied = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            if (states[i] == 1 || (states[i] == 0 && !namesSensitiveIdentifier)) continue;
            var entry = entries[i];
            if (entry.ValueEnd == entry.ValueStart || IsPlaceholder(list, entry)) continue;
            result ??= new StringBuilder(list.Length);
            result.Append(list, copied, entry.ValueStart - copied)
                .Append(masker.MaskText(list.Substring(entry.ValueStart, entry.ValueEnd - entry.ValueStart)));
            copied = entry.ValueEnd;
        }
        return result?.Append(list, copied, list.Length - copied).ToString();
    }

    /// <summary>
    /// <c>'?'</c>, EF Core's value without sensitive data logging, with its facets (<c>'?' (Size = 11)</c>): nothing to mask.
    /// </summary>
    static bool IsPlaceholder(string list, Entry entry) =>
        list.AsSpan(entry.ValueStart, entry.ValueEnd - entry.ValueStart) is var value && value.StartsWith("'?'", StringComparison.Ordinal) &&
        (value.Length == 3 || value[3] == ' ');

    /// <summary>
    /// A parameter the SQL also uses where the reader cannot place it (<c>"Name" = @p0 OR lower("ApiKey") = lower(@p0)</c>)
    /// is not placed. An entry that is not one of the command's parameters (its name twice in the list, or not in the
    /// SQL) may be the tail of the value before it, cut at a <c>", @x="</c> that value holds: it is masked with that value;
    /// a name twice in the list masks both entries.
    /// </summary>
    static void Settle(string list, List<Entry> entries, byte[] states, int[] occurrences, int[] placed)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (states[i] == 1 && placed[i] < occurrences[i]) states[i] = 0;
            if (states[i] == 2) continue;
            var name = list.AsSpan(entries[i].NameStart, entries[i].NameEnd - entries[i].NameStart);
            for (var j = 0; j < entries.Count; j++)
            {
                if (j != i && list.AsSpan(entries[j].NameStart, entries[j].NameEnd - entries[j].NameStart).Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    states[i] = 2;
                    break;
                }
            }
            if (states[i] != 2 && occurrences[i] == 0 && i > 0 && states[i - 1] == 2) states[i] = 2;
        }
    }

    static void Count(List<Token> tokens, string sql, string list, List<Entry> entries, int[] occurrences)
    {
        foreach (var token in tokens)
        {
            if (token.Kind != Kind.Parameter) continue;
            for (var i = 0; i < entries.Count; i++)
            {
                if (list.AsSpan(entries[i].NameStart, entries[i].NameEnd - entries[i].NameStart)
                    .Equals(sql.AsSpan(token.Start + 1, token.Length - 1), StringComparison.OrdinalIgnoreCase))
                    occurrences[i]++;
            }
        }
    }

    static bool HasUnplaced(string list, List<Entry> entries, byte[] states)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (states[i] == 0 && !IsPlaceholder(list, entries[i])) return true;
        }
        return false;
    }

    static bool HasPlacedPlain(byte[] states) => Array.IndexOf(states, (byte)1) >= 0;

    /// <summary>Whether a table the SQL reads or writes (after <c>FROM</c>, <c>JOIN</c>, <c>INTO</c>, <c>UPDATE</c>, <c>MERGE</c>) has a sensitive name.</summary>
    static bool NamesSensitiveTable(string sql, List<Token> tokens, KeyMatcher keys)
    {
        for (var i = 0; i + 1 < tokens.Count; i++)
        {
            if (!(IsWord(tokens, i, sql, "FROM") || IsWord(tokens, i, sql, "JOIN") || IsWord(tokens, i, sql, "INTO") ||
                  IsWord(tokens, i, sql, "UPDATE") || IsWord(tokens, i, sql, "MERGE")) || !IsColumn(tokens, i + 1))
                continue;
            // EF Core names a table after its DbSet, in the plural: "ApiTokens" is sensitive when "ApiToken" is.
            var table = tokens[i + 1];
            if (table.Length == 0) continue;
            var name = sql.Substring(table.Start, table.Length);
            if (keys.IsSensitive(name) || (name.Length > 1 && name[^1] is 's' or 'S' && keys.IsSensitive(name[..^1]))) return true;
        }
        return false;
    }

    /// <summary>
    /// Per token, whether it is an identifier with a sensitive name (the last part of a qualified one), read once for
    /// every use; <paramref name="any"/> says whether one is.
    /// </summary>
    static bool[] SensitiveTokens(List<Token> tokens, string sql, KeyMatcher keys, out bool any)
    {
        var sensitive = new bool[tokens.Count];
        any = false;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind is Kind.Identifier or Kind.Word && token.Length > 0 && keys.IsSensitive(sql.Substring(token.Start, token.Length)))
                any = sensitive[i] = true;
        }
        return sensitive;
    }

    static bool IsParameterStart(char c) => c is '@' or ':';

    /// <summary>The start of a name written without its prefix (<c>new SqlParameter("user", ...)</c>).</summary>
    static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';

    static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '$';

    /// <summary>
    /// The entries <c>@name=value</c> (or <c>name=value</c>) of the list, each starting the list or after <c>", "</c>; a
    /// value runs to the next entry (its facets such as <c>(Size = 11)</c> with it). A value whose text holds
    /// <c>", @x="</c> is cut there, and the rest taken for an entry (see <see cref="Settle"/>).
    /// </summary>
    static List<Entry> Entries(string list)
    {
        var entries = new List<Entry>();
        var start = 0;
        while (start >= 0)
        {
            var nameStart = IsParameterStart(list[start]) ? start + 1 : start;
            var nameEnd = nameStart;
            while (nameEnd < list.Length && IsNameChar(list[nameEnd])) nameEnd++;
            if (nameEnd == nameStart || nameEnd >= list.Length || list[nameEnd] != '=')
            {
                if (entries.Count == 0) return entries;
                start = NextEntry(list, start + 1);
                continue;
            }
            var next = NextEntry(list, nameEnd + 1);
            entries.Add(new Entry(nameStart, nameEnd, nameEnd + 1, next < 0 ? list.Length : next - 2));
            start = next;
        }
        return entries;
    }

    static int NextEntry(string list, int from)
    {
        while (true)
        {
            var comma = list.IndexOf(", ", from, StringComparison.Ordinal);
            if (comma < 0 || comma + 2 >= list.Length) return -1;
            var nameStart = IsParameterStart(list[comma + 2]) ? comma + 3 : IsNameStart(list[comma + 2]) ? comma + 2 : -1;
            if (nameStart >= 0)
            {
                var end = nameStart;
                while (end < list.Length && IsNameChar(list[end])) end++;
                if (end > nameStart && end < list.Length && list[end] == '=') return comma + 2;
            }
            from = comma + 2;
        }
    }

    static bool NamesAny(string sql, string list, List<Entry> entries)
    {
        foreach (var entry in entries)
        {
            if (sql.AsSpan().IndexOf(list.AsSpan(entry.NameStart, entry.NameEnd - entry.NameStart), StringComparison.OrdinalIgnoreCase) >= 0) return true;
        }
        return false;
    }

    enum Kind : byte { Identifier, Word, Parameter, Operator, Open, Close, Comma, End, Other }

    /// <summary>A token; for an identifier (quoted or a bare word, qualified or not) the span of its last part.</summary>
    readonly record struct Token(Kind Kind, int Start, int Length);

    static List<Token> Tokenize(string sql)
    {
        var tokens = new List<Token>();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var eol = sql.IndexOf('\n', i);
                i = eol < 0 ? sql.Length : eol + 1;
                continue;
            }
            if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var close = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = close < 0 ? sql.Length : close + 2;
                continue;
            }
            if (c == '\'')
            {
                i = QuotedEnd(sql, i, '\'');
                tokens.Add(new Token(Kind.Other, i, 0));
                continue;
            }
            if (c is '"' or '[' or '`' || char.IsLetter(c) || c == '_')
            {
                // An identifier, qualified by others ("u"."Password", [dbo].[Users], i.[ApiKey]): its last part counts.
                int partStart, partEnd;
                bool quoted, qualified = false;
                while (true)
                {
                    quoted = sql[i] is '"' or '[' or '`';
                    if (quoted)
                    {
                        var end = QuotedEnd(sql, i, sql[i] == '[' ? ']' : sql[i]);
                        partStart = i + 1;
                        partEnd = Math.Max(partStart, end - 1);
                        i = end;
                    }
                    else
                    {
                        partStart = i;
                        while (i < sql.Length && (IsNameChar(sql[i]) || char.IsLetter(sql[i]))) i++;
                        partEnd = i;
                    }
                    if (i + 1 < sql.Length && sql[i] == '.' && (sql[i + 1] is '"' or '[' or '`' || char.IsLetter(sql[i + 1]) || sql[i + 1] == '_'))
                    {
                        i++;
                        qualified = true;
                        continue;
                    }
                    break;
                }
                tokens.Add(new Token(quoted || qualified ? Kind.Identifier : Kind.Word, partStart, partEnd - partStart));
                continue;
            }
            if (IsParameterStart(c) && i + 1 < sql.Length && IsNameChar(sql[i + 1]) && !(c == ':' && i > 0 && sql[i - 1] == ':'))
            {
                var start = i++;
                while (i < sql.Length && IsNameChar(sql[i])) i++;
                tokens.Add(new Token(Kind.Parameter, start, i - start));
                continue;
            }
            switch (c)
            {
                case '(':
                    tokens.Add(new Token(Kind.Open, i++, 1));
                    continue;
                case ')':
                    tokens.Add(new Token(Kind.Close, i++, 1));
                    continue;
                case ',':
                    tokens.Add(new Token(Kind.Comma, i++, 1));
                    continue;
                case ';':
                    tokens.Add(new Token(Kind.End, i++, 1));
                    continue;
                case '=' or '<' or '>' or '!':
                    var opStart = i++;
                    if (i < sql.Length && sql[i] is '=' or '>') i++;
                    tokens.Add(new Token(Kind.Operator, opStart, i - opStart));
                    continue;
            }
            var other = i++;
            // A star stands alone: "SELECT *FROM t" and "t.*FROM" select every column, the word after it is a word.
            if (c != '*')
                while (i < sql.Length && IsNameChar(sql[i])) i++;
            tokens.Add(new Token(Kind.Other, other, i - other));
        }
        return tokens;
    }

    /// <summary>The index after a quoted run starting at <paramref name="start"/>; a doubled closing quote is part of it.</summary>
    internal static int QuotedEnd(string text, int start, char close)
    {
        var i = start + 1;
        while (i < text.Length)
        {
            if (text[i] == close)
            {
                if (i + 1 < text.Length && text[i + 1] == close)
                {
                    i += 2;
                    continue;
                }
                return i + 1;
            }
            i++;
        }
        return text.Length;
    }

    static bool IsWord(List<Token> tokens, int index, string sql, string word) =>
        index >= 0 && index < tokens.Count && tokens[index].Kind == Kind.Word &&
        sql.AsSpan(tokens[index].Start, tokens[index].Length).Equals(word, StringComparison.OrdinalIgnoreCase);

    static bool StartsStatement(List<Token> tokens, int index, string sql) =>
        IsWord(tokens, index, sql, "INSERT") || IsWord(tokens, index, sql, "SELECT") || IsWord(tokens, index, sql, "UPDATE") ||
        IsWord(tokens, index, sql, "DELETE") || IsWord(tokens, index, sql, "MERGE") || IsWord(tokens, index, sql, "WITH");

    static bool IsColumn(List<Token> tokens, int index) =>
        index >= 0 && index < tokens.Count && tokens[index].Kind is Kind.Identifier or Kind.Word;

    /// <summary>A column beside a comparison: a bare word that is a keyword (<c>END</c>, <c>NOT</c>, <c>NULL</c>) is none.</summary>
    static bool IsColumn(List<Token> tokens, int index, string sql) =>
        IsColumn(tokens, index) && !(tokens[index].Kind == Kind.Word && IsAnyWord(tokens, index, sql, Keywords));

    static readonly string[] Keywords =
    [
        "AND", "OR", "NOT", "NULL", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "IS", "IN", "LIKE", "ILIKE", "BETWEEN",
        "EXISTS", "ANY", "ALL", "SOME", "COLLATE", "ESCAPE", "SELECT", "WHERE", "SET", "ON", "AS", "FROM", "HAVING", "DEFAULT",
    ];

    // What may come right before a comparison's left operand, and right after its right one.
    static readonly string[] Before = ["WHERE", "AND", "OR", "NOT", "SET", "ON", "WHEN", "HAVING", "THEN", "ELSE", "SELECT"];
    static readonly string[] After = ["AND", "OR", "THEN", "WHEN", "ELSE", "END", "WHERE", "ORDER", "GROUP", "LIMIT", "OFFSET", "RETURNING", "OUTPUT", "FROM"];

    static bool StartsOperand(List<Token> tokens, int before, string sql) =>
        before < 0 || tokens[before].Kind is Kind.Comma or Kind.Open or Kind.End || IsAnyWord(tokens, before, sql, Before);

    static bool EndsOperand(List<Token> tokens, int after, string sql) =>
        after >= tokens.Count || tokens[after].Kind is Kind.Comma or Kind.Close or Kind.End || IsAnyWord(tokens, after, sql, After);

    static bool IsAnyWord(List<Token> tokens, int index, string sql, string[] words)
    {
        foreach (var word in words)
        {
            if (IsWord(tokens, index, sql, word)) return true;
        }
        return false;
    }

    /// <summary>Most subquery levels whose renamed columns are followed back, and most names kept (see <see cref="SensitiveAliases"/>).</summary>
    const int MaximumAliasLevels = 8;
    const int MaximumAliases = 64;

    /// <summary>
    /// The names a query gives an expression that yields a sensitive column's value: <c>"u"."Password" AS "c1"</c> (EF
    /// Core names a subquery's columns after a projection's members), and as well <c>COALESCE("u"."ApiKey", '') AS "k"</c>,
    /// <c>CASE WHEN ... THEN "u"."Password" END AS "x"</c>, <c>"u"."ApiKey" || '' AS "y"</c>, <c>CAST(... AS TEXT) AS "c"</c>
    /// <c>PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY "ApiKey") AS "m"</c> or a scalar subquery that selects one; the
    /// names a list gives a query's columns by position, where that column yields one: a CTE's <c>WITH t (k) AS (...)</c>,
    /// a derived table's (or a function's, or VALUES rows') <c>(...) AS t (k)</c>, an <c>INSERT INTO t (k) SELECT ...</c>
    /// (or <c>VALUES</c>), a CTE's own name when its query yields one (a source a <c>*</c> then renames); then the names
    /// given those in turn by the queries around it, up to
    /// <see cref="MaximumAliasLevels"/> levels: a value compared with <c>"t"."c1"</c> meets the password. Null when none.
    /// At most <see cref="MaximumAliases"/> names, so that SQL with thousands of them costs a bounded time per name;
    /// <paramref name="followed"/> is false when a limit left a rename unread, or a list that renames a secret by position
    /// cannot be read (the caller then trusts no plain column).
    /// </summary>
    /// <remarks>
    /// A name is not scoped to its subquery: a value compared with the same name elsewhere is masked too (more than
    /// needed, never less). What an expression only tests or orders by does not flow into its value, and does not make
    /// its name sensitive: a <c>WHEN</c> condition, a <c>WHERE</c>, <c>ON</c>, <c>GROUP BY</c>, <c>ORDER BY</c> or
    /// <c>HAVING</c> clause, a window's <c>OVER (...)</c>, <c>EXISTS (...)</c>; nor is a derived table's alias a column's.
    /// </remarks>
    static List<string>? SensitiveAliases(List<Token> tokens, string sql, bool[] sensitive, out bool followed)
    {
        List<string>? aliases = null;
        followed = true;
        var frames = new List<Frame>();
        // A subquery comes after the select list that renames its columns again: each pass follows one level out.
        for (var level = 0; ; level++)
        {
            var added = false;
            var gaveUp = false;
            // The column list of a CTE (t (a, b) AS (query)), read before the query it names: its open parenthesis + 1.
            var pending = 0;
            var pendingUnreadable = false;
            frames.Clear();
            frames.Add(default);
            for (var i = 0; i < tokens.Count && !gaveUp; i++)
            {
                var token = tokens[i];
                var top = frames.Count - 1;
                switch (token.Kind)
                {
                    case Kind.Open:
                    {
                        var parent = frames[top];
                        var frame = new Frame
                        {
                            Scope = ScopeOf(tokens, i - 1, sql), Names = pending, Unreadable = pendingUnreadable,
                            Relation = pending > 0 ? pending - 1 : IsCommonTable(tokens, i, sql) ? i - 1 : 0,
                        };
                        pending = 0;
                        pendingUnreadable = false;
                        // A parenthesis in a VALUES clause is a row: its items are the columns by position.
                        if (parent.Values) frame = frame with { Row = true, Listed = true, Listing = true };
                        else if (frame.Names == 0 && IsColumn(tokens, i - 1, sql) && ListAt(tokens, i, out var count) is var close && close > 0 &&
                                 QueryAfterAs(tokens, close + 1, sql) is var query && query > 0)
                        {
                            // t (a, b) AS [[NOT] MATERIALIZED] (query): the list names the query's columns by position.
                            pending = i + 1;
                            pendingUnreadable = count < 0;
                            i = query - 1;
                            continue;
                        }
                        frames.Add(frame);
                        continue;
                    }
                    case Kind.Close:
                    {
                        if (top == 0) continue;
                        var closed = frames[top];
                        frames.RemoveAt(top);
                        if (Finish(closed)) continue;
                        // A CTE that yields a secret is a source that does: SELECT * FROM it renames the secret by position.
                        if (closed.Relation > 0 && Yielded(closed) != 0) Add(tokens[closed.Relation - 1]);
                        var parent = frames[top - 1];
                        if (closed.Row) parent = parent with { Mask = parent.Mask | closed.Mask };
                        if (closed.Yields && closed.Scope != Scope.Closed) parent = parent.Flow();
                        if (closed.Yields && parent.From) parent = parent with { Sources = true };
                        frames[top - 1] = parent;
                        // A derived table or a function in FROM renames its columns by position: (query) [AS] t (a, b).
                        if (closed.Scope == Scope.Closed || parent.From)
                        {
                            var j = i + 1;
                            if (IsWord(tokens, j, sql, "AS")) j++;
                            if (j + 1 < tokens.Count && tokens[j + 1].Kind == Kind.Open && IsColumn(tokens, j, sql) && !IsAnyWord(tokens, j, sql, NotTableAliases))
                            {
                                // A list that runs into a parenthesis (x (a numeric(10, 2))) cannot be read either.
                                var end = ListAt(tokens, j + 1, out var count);
                                if (Rename(j + 2, end < 0 || count < 0, Yielded(closed))) continue;
                                if (end > 0) i = end;
                            }
                        }
                        continue;
                    }
                    case Kind.Comma:
                        frames[top] = frames[top] with { Item = false, Position = frames[top].Listing ? frames[top].Position + 1 : frames[top].Position };
                        continue;
                    case Kind.End:
                        for (var f = frames.Count - 1; f >= 0 && !gaveUp; f--) gaveUp = Finish(frames[f]);
                        frames.Clear();
                        frames.Add(default);
                        continue;
                    case Kind.Identifier or Kind.Word:
                        break;
                    case Kind.Other when frames[top].Listing && IsStar(tokens, i, sql):
                        // SELECT *, t.*: the columns from here on are those of the sources, whose count is not known.
                        if (frames[top].StarFrom == 0) frames[top] = frames[top] with { StarFrom = frames[top].Position + 1 };
                        continue;
                    default:
                        continue;
                }
                if (token.Kind == Kind.Word && ClauseOf(tokens, i, sql) is var clause && clause != Clause.None)
                {
                    // A clause starts a new item; a condition's columns are tested, not yielded. The ORDER BY of an
                    // ordered-set aggregate (PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY x)) yields one of its values.
                    var frame = frames[top];
                    var select = IsWord(tokens, i, sql, "SELECT");
                    var values = IsWord(tokens, i, sql, "VALUES");
                    if (IsWord(tokens, i, sql, "RETURNING"))
                    {
                        // What a statement returns are the columns of a CTE around it (WITH x (k) AS (INSERT ... RETURNING
                        // "ApiKey")), not of the INSERT's own list, which is given what came before.
                        if (frame.Inserting)
                        {
                            if (Finish(frame)) continue;
                            frame = frame with { Names = 0, Inserting = false };
                        }
                        if (frame.Relation != 0)
                        {
                            select = true;
                            frame = frame with { Listed = false, StarFrom = 0, Sources = false };
                        }
                    }
                    frames[top] = frame with
                    {
                        Item = false, Tested = clause == Clause.Tests && frame.Scope != Scope.Ordered,
                        // A UNION's next SELECT lists the same columns again; what came before the first one is no column.
                        Listing = select, Position = select ? 0 : frame.Position, Values = values,
                        Listed = frame.Listed || select || values, Mask = frame.Listed || !(select || values) ? frame.Mask : 0,
                        From = IsWord(tokens, i, sql, "FROM") || IsWord(tokens, i, sql, "JOIN") || IsWord(tokens, i, sql, "USING"),
                    };
                    continue;
                }
                if (IsWord(tokens, i, sql, "INSERT"))
                {
                    // INSERT [INTO] t (a, b) SELECT ... / VALUES ...: the list names the rows' columns by position.
                    var j = i + 1;
                    if (IsWord(tokens, j, sql, "INTO")) j++;
                    if (IsColumn(tokens, j) && j + 1 < tokens.Count && tokens[j + 1].Kind == Kind.Open) j++;
                    // In a CTE with a list of its own, that list names what it returns.
                    if (j < tokens.Count && tokens[j].Kind == Kind.Open && ListAt(tokens, j, out var count) is var end && end > 0 &&
                        (frames[top].Names == 0 || frames[top].Inserting))
                    {
                        if (Finish(frames[top])) continue;
                        frames[top] = frames[top] with
                        {
                            Names = j + 1, Unreadable = count < 0, Inserting = true, Listed = false, Listing = false, Mask = 0, StarFrom = 0, Sources = false,
                        };
                        i = end;
                    }
                    continue;
                }
                if (IsWord(tokens, i, sql, "WHEN"))
                {
                    frames[top] = frames[top] with { When = true };
                    continue;
                }
                if (IsWord(tokens, i, sql, "THEN") || IsWord(tokens, i, sql, "ELSE"))
                {
                    frames[top] = frames[top] with { When = false };
                    continue;
                }
                if (IsWord(tokens, i, sql, "AS") && IsColumn(tokens, i + 1) && tokens[i + 1].Length > 0)
                {
                    // CAST(x AS type) names a type; the name after AS is no column's value either way.
                    var frame = frames[top];
                    i++;
                    if (frame.Scope == Scope.Cast || !frame.Item) continue;
                    Add(tokens[i]);
                    continue;
                }
                if (sensitive[i] || IsAlias(aliases, sql.AsSpan(token.Start, token.Length)))
                    frames[top] = frames[top].Flow() with { Sources = frames[top].Sources || frames[top].From };
            }
            for (var f = frames.Count - 1; f >= 0 && !gaveUp; f--) gaveUp = Finish(frames[f]);
            if (gaveUp)
            {
                followed = false;
                return aliases;
            }
            if (!added) return aliases;
            // The pass after the last level followed only shows whether there was more to follow.
            if (level == MaximumAliasLevels)
            {
                followed = false;
                return aliases;
            }

            // Adds a name; true when the names kept are full (the caller stops: a rename is left unread).
            bool Add(Token name)
            {
                var alias = sql.AsSpan(name.Start, name.Length);
                if (IsAlias(aliases, alias)) return false;
                if (aliases is not null && aliases.Count >= MaximumAliases) return gaveUp = true;
                (aliases ??= new List<string>()).Add(alias.ToString());
                added = true;
                return false;
            }

            // Gives the names of a column list that renames a frame's columns by position those that yield a secret; true
            // when it stops the pass (a list it cannot read renames a secret, or the names kept are full).
            bool Finish(Frame frame) => frame.Names != 0 && Rename(frame.Names, frame.Unreadable, Yielded(frame));

            bool Rename(int names, bool unreadable, ulong yielded)
            {
                if (yielded == 0) return false;
                if (unreadable) return gaveUp = true;
                // A list that can be read is names between commas: the one at each even offset, up to the ")".
                for (int j = names, position = 0; j < tokens.Count; j += 2, position++)
                {
                    if ((yielded & Bit(position)) != 0 && !sensitive[j] && tokens[j].Length > 0 && Add(tokens[j])) return true;
                    if (j + 1 >= tokens.Count || tokens[j + 1].Kind != Kind.Comma) break;
                }
                return false;
            }
        }
    }

    /// <summary>
    /// The columns a frame yields a secret at, one bit per position (the 64th for every later one): those its select lists
    /// or VALUES rows yield one at; from a <c>*</c> on, every one when a source in its <c>FROM</c> yields one; every one
    /// when it lists none (a function's arguments) but yields one.
    /// </summary>
    static ulong Yielded(Frame frame) =>
        !frame.Listed ? (frame.Yields ? ulong.MaxValue : 0)
        : frame.Mask | (frame.StarFrom > 0 && frame.Sources ? ulong.MaxValue << Math.Min(frame.StarFrom - 1, 63) : 0);

    static ulong Bit(int position) => 1UL << Math.Min(position, 63);

    /// <summary>
    /// The index of the <c>)</c> that ends the list opened at <paramref name="open"/> when no parenthesis comes before it
    /// (else -1), and the number of names in it, or -1 when it is not only names between commas.
    /// </summary>
    static int ListAt(List<Token> tokens, int open, out int count)
    {
        count = 0;
        var expectName = true;
        for (var j = open + 1; j < tokens.Count; j++)
        {
            var kind = tokens[j].Kind;
            if (kind == Kind.Open || kind == Kind.End) break;
            if (kind == Kind.Close)
            {
                if (expectName) count = -1;
                return j;
            }
            if (count >= 0)
            {
                if (expectName && kind is Kind.Identifier or Kind.Word) count++;
                else if (!(kind == Kind.Comma && !expectName)) count = -1;
                expectName = kind == Kind.Comma;
            }
        }
        count = -1;
        return -1;
    }

    /// <summary>Whether the <c>(</c> at <paramref name="open"/> holds a CTE's query: <c>WITH t AS (</c>, <c>, t AS (</c>.</summary>
    static bool IsCommonTable(List<Token> tokens, int open, string sql) =>
        IsWord(tokens, open - 1, sql, "AS") && IsColumn(tokens, open - 2, sql) &&
        (IsWord(tokens, open - 3, sql, "WITH") || IsWord(tokens, open - 3, sql, "RECURSIVE") || (open >= 3 && tokens[open - 3].Kind == Kind.Comma));

    /// <summary>The index of the query's <c>(</c> after <c>AS [[NOT] MATERIALIZED]</c> at <paramref name="index"/>, else -1.</summary>
    static int QueryAfterAs(List<Token> tokens, int index, string sql)
    {
        if (!IsWord(tokens, index, sql, "AS")) return -1;
        var j = index + 1;
        if (IsWord(tokens, j, sql, "NOT")) j++;
        if (IsWord(tokens, j, sql, "MATERIALIZED")) j++;
        return j < tokens.Count && tokens[j].Kind == Kind.Open ? j : -1;
    }

    /// <summary>A <c>*</c> standing for columns: after <c>SELECT</c>, <c>DISTINCT</c>, <c>ALL</c>, a comma or a <c>t.</c>.</summary>
    static bool IsStar(List<Token> tokens, int index, string sql) =>
        tokens[index].Length == 1 && sql[tokens[index].Start] == '*' && index > 0 &&
        (tokens[index - 1].Kind == Kind.Comma || IsWord(tokens, index - 1, sql, "SELECT") || IsWord(tokens, index - 1, sql, "DISTINCT") ||
         IsWord(tokens, index - 1, sql, "ALL") ||
         (tokens[index - 1].Kind == Kind.Other && tokens[index - 1].Length == 1 && sql[tokens[index - 1].Start] == '.'));

    // Words after a derived table that start the next clause or join rather than name the table.
    static readonly string[] NotTableAliases =
        ["INNER", "LEFT", "RIGHT", "FULL", "CROSS", "OUTER", "NATURAL", "LATERAL", "APPLY", "WINDOW", "UNION", "INTERSECT", "EXCEPT",
         "ORDER", "GROUP", "WHERE", "JOIN", "ON", "USING", "LIMIT", "OFFSET", "FETCH", "RETURNING", "OUTPUT", "SELECT", "VALUES", "WITH"];

    /// <summary>What the values inside a parenthesis are to the expression around it.</summary>
    enum Scope : byte
    {
        /// <summary>An argument list, a nested expression, a scalar subquery: its value is the expression's.</summary>
        Value,
        /// <summary><c>CAST(x AS type)</c>: the value flows, the name after <c>AS</c> is a type.</summary>
        Cast,
        /// <summary><c>OVER (...)</c>, <c>EXISTS (...)</c>, a derived table after <c>FROM</c> or <c>JOIN</c>: no value flows out.</summary>
        Closed,
        /// <summary><c>WITHIN GROUP (ORDER BY x)</c>: the aggregate's value is one of the values it orders by.</summary>
        Ordered,
    }

    /// <summary>
    /// One parenthesis level (or the statement) while <see cref="SensitiveAliases"/> reads it: whether its current item
    /// (what an <c>AS</c> would name) yields a secret, whether any of its items does (what it yields to the level
    /// around it), and whether its current tokens are only tested (a <c>WHERE</c>, a <c>WHEN</c> condition). For the
    /// lists that name its columns by position: whether it is in a select list or is a VALUES row (<c>Listing</c>), at
    /// which item (<c>Position</c>), the positions that yield a secret (<c>Mask</c>), whether it has a select list or
    /// rows at all (<c>Listed</c>), whether its current clause is <c>VALUES</c> or a <c>FROM</c>, the position + 1 of a
    /// <c>*</c> and whether a source in its <c>FROM</c> yields a secret; the list that names them (its first token's
    /// index, 0 for none), or that it cannot be read, and whether it is an INSERT's; and for a CTE's query, its name's
    /// index + 1.
    /// </summary>
    record struct Frame(Scope Scope, bool Item, bool Yields, bool Tested, bool When)
    {
        public bool Listing { get; init; }
        public int Position { get; init; }
        public ulong Mask { get; init; }
        public bool Listed { get; init; }
        public bool Values { get; init; }
        public bool Row { get; init; }
        public bool From { get; init; }
        public int StarFrom { get; init; }
        public bool Sources { get; init; }
        public int Names { get; init; }
        public int Relation { get; init; }
        public bool Inserting { get; init; }
        public bool Unreadable { get; init; }

        public Frame Flow() =>
            Tested || When ? this : this with { Item = true, Yields = true, Mask = Listing ? Mask | Bit(Position) : Mask };
    }

    static Scope ScopeOf(List<Token> tokens, int before, string sql) =>
        IsWord(tokens, before, sql, "CAST") || IsWord(tokens, before, sql, "TRY_CAST") ? Scope.Cast
        : IsAnyWord(tokens, before, sql, ClosedBefore) ? Scope.Closed
        : IsWord(tokens, before, sql, "GROUP") && IsWord(tokens, before - 1, sql, "WITHIN") ? Scope.Ordered
        : Scope.Value;

    static readonly string[] ClosedBefore = ["OVER", "EXISTS", "FROM", "JOIN", "APPLY", "LATERAL"];

    enum Clause : byte { None, Yields, Tests }

    // Words that start a clause: one whose expressions are values, and one whose expressions are only tested.
    static readonly string[] YieldingClauses =
        ["SELECT", "FROM", "JOIN", "RETURNING", "OUTPUT", "SET", "VALUES", "UNION", "INTERSECT", "EXCEPT", "INTO", "USING"];
    static readonly string[] TestingClauses = ["WHERE", "ON", "HAVING", "LIMIT", "OFFSET", "FETCH"];

    /// <summary>
    /// The clause the word at <paramref name="index"/> starts; <c>GROUP</c>, <c>ORDER</c> and <c>PARTITION</c> only
    /// followed by <c>BY</c> (<c>WITHIN GROUP (...)</c> is part of an aggregate), <c>ON</c> not after <c>DISTINCT</c>
    /// (PostgreSQL's <c>SELECT DISTINCT ON (...) a, b</c> is still the select list, whose items are not only tested).
    /// </summary>
    static Clause ClauseOf(List<Token> tokens, int index, string sql) =>
        IsAnyWord(tokens, index, sql, YieldingClauses) ? Clause.Yields
        : IsAnyWord(tokens, index, sql, TestingClauses) && !(IsWord(tokens, index, sql, "ON") && IsWord(tokens, index - 1, sql, "DISTINCT"))
            ? Clause.Tests
        : (IsWord(tokens, index, sql, "GROUP") || IsWord(tokens, index, sql, "ORDER") || IsWord(tokens, index, sql, "PARTITION")) &&
          IsWord(tokens, index + 1, sql, "BY") ? Clause.Tests
        : Clause.None;

    static bool IsAlias(List<string>? aliases, ReadOnlySpan<char> name)
    {
        if (aliases is null) return false;
        foreach (var alias in aliases)
        {
            if (name.Equals(alias, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    static void Place(List<Token> tokens, string sql, string list, List<Entry> entries, byte[] states, int[] placed, KeyMatcher keys,
        List<string>? aliases)
    {
        // Where the last search for an INSERT's VALUES ended without one: a later INSERT before it is not searched
        // again, so that every token is read a bounded number of times whatever the text.
        var noValuesBefore = -1;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Kind == Kind.Parameter)
            {
                // column = @p, @p = column (and the other comparisons); LIKE reads as a comparison too. The column is the
                // whole operand: not "CASE ... END", "a || b" or "a COLLATE c", whose last or first word is no column.
                if (i >= 2 && (tokens[i - 1].Kind == Kind.Operator || IsWord(tokens, i - 1, sql, "LIKE")) && IsColumn(tokens, i - 2, sql) &&
                    StartsOperand(tokens, i - 3, sql))
                    Bind(sql, token, tokens[i - 2], list, entries, states, placed, keys, aliases);
                else if (i + 2 < tokens.Count && tokens[i + 1].Kind == Kind.Operator && IsColumn(tokens, i + 2, sql) && EndsOperand(tokens, i + 3, sql))
                    Bind(sql, token, tokens[i + 2], list, entries, states, placed, keys, aliases);
                continue;
            }
            if (IsWord(tokens, i, sql, "INSERT"))
            {
                // INSERT [INTO] table (columns) [OUTPUT ...] VALUES (row), (row)
                var j = i + 1;
                if (IsWord(tokens, j, sql, "INTO")) j++;
                if (IsColumn(tokens, j)) j++;
                var columns = ColumnList(tokens, ref j);
                if (columns is null || j < noValuesBefore) continue;
                // Only an OUTPUT clause comes between: a parenthesis or a word starting a statement ends the search (a
                // VALUES nested in a query, or a later statement's without a ';' before it, is not this INSERT's).
                while (j < tokens.Count && tokens[j].Kind is not (Kind.End or Kind.Open) && !IsWord(tokens, j, sql, "VALUES") && !StartsStatement(tokens, j, sql)) j++;
                if (IsWord(tokens, j, sql, "SELECT"))
                {
                    // INSERT ... SELECT @p0, @p1 [UNION [ALL] SELECT @p2, @p3]: the items go to the columns by position.
                    foreach (var (parameter, position) in SelectItems(tokens, ref j, sql))
                    {
                        if (position < columns.Count) Bind(sql, parameter, columns[position], list, entries, states, placed, keys, aliases);
                    }
                    i = j - 1;
                    continue;
                }
                if (!IsWord(tokens, j, sql, "VALUES"))
                {
                    noValuesBefore = j;
                    continue;
                }
                j++;
                foreach (var (parameter, position) in Rows(tokens, ref j))
                {
                    if (position < columns.Count) Bind(sql, parameter, columns[position], list, entries, states, placed, keys, aliases);
                }
                i = j - 1;
                continue;
            }
            if (IsWord(tokens, i, sql, "VALUES") && i > 1 && tokens[i - 1].Kind == Kind.Open && IsWord(tokens, i - 2, sql, "USING"))
            {
                // MERGE ... USING (VALUES (row), (row)) AS alias (columns): SQL Server's MERGE source. Elsewhere a derived
                // table's column names are aliases that say nothing of where the values go.
                var j = i + 1;
                var rows = Rows(tokens, ref j);
                if (j < tokens.Count && tokens[j].Kind == Kind.Close) j++;
                if (IsWord(tokens, j, sql, "AS")) j++;
                if (IsColumn(tokens, j)) j++;
                var rowsEnd = j;
                var columns = ColumnList(tokens, ref j);
                if (columns is not null)
                {
                    foreach (var (parameter, position) in rows)
                    {
                        if (position < columns.Count) Bind(sql, parameter, columns[position], list, entries, states, placed, keys, aliases);
                    }
                }
                // The rows' own tokens are read: a VALUES nested in them is not read again.
                i = rowsEnd - 1;
            }
        }
    }

    /// <summary>A parenthesized list of identifiers at <paramref name="index"/>, which moves past it; else null.</summary>
    static List<Token>? ColumnList(List<Token> tokens, ref int index)
    {
        if (index >= tokens.Count || tokens[index].Kind != Kind.Open) return null;
        var columns = new List<Token>();
        var j = index + 1;
        while (j < tokens.Count)
        {
            if (!IsColumn(tokens, j)) return null;
            columns.Add(tokens[j++]);
            if (j < tokens.Count && tokens[j].Kind == Kind.Comma)
            {
                j++;
                continue;
            }
            if (j < tokens.Count && tokens[j].Kind == Kind.Close)
            {
                index = j + 1;
                return columns;
            }
            return null;
        }
        return null;
    }

    /// <summary>The parameters standing alone as an item of the rows <c>(a, b), (c, d)</c> at index, with their position.</summary>
    static List<(Token Parameter, int Position)> Rows(List<Token> tokens, ref int index)
    {
        var found = new List<(Token, int)>();
        var j = index;
        while (j < tokens.Count && tokens[j].Kind == Kind.Open)
        {
            j++;
            var position = 0;
            var depth = 0;
            var itemStart = j;
            while (j < tokens.Count)
            {
                var kind = tokens[j].Kind;
                if (kind == Kind.Open) depth++;
                else if (kind == Kind.Close && depth > 0) depth--;
                else if (depth == 0 && kind is Kind.Comma or Kind.Close)
                {
                    if (j == itemStart + 1 && tokens[itemStart].Kind == Kind.Parameter) found.Add((tokens[itemStart], position));
                    position++;
                    itemStart = j + 1;
                    if (kind == Kind.Close) break;
                }
                j++;
            }
            j++;
            if (j + 1 < tokens.Count && tokens[j].Kind == Kind.Comma && tokens[j + 1].Kind == Kind.Open) j++;
            else break;
        }
        index = j;
        return found;
    }

    /// <summary>
    /// The parameters standing alone as an item of the select list at <paramref name="index"/> (on <c>SELECT</c>), with
    /// their position, and of the lists of the <c>UNION</c>s right after it; the index moves to where the lists end.
    /// </summary>
    static List<(Token Parameter, int Position)> SelectItems(List<Token> tokens, ref int index, string sql)
    {
        var found = new List<(Token, int)>();
        var j = index;
        while (IsWord(tokens, j, sql, "SELECT"))
        {
            j++;
            if (IsWord(tokens, j, sql, "DISTINCT") || IsWord(tokens, j, sql, "ALL")) j++;
            var position = 0;
            var depth = 0;
            var itemStart = j;
            for (; j <= tokens.Count; j++)
            {
                var kind = j < tokens.Count ? tokens[j].Kind : Kind.End;
                if (kind == Kind.Open) depth++;
                else if (kind == Kind.Close && depth > 0) depth--;
                else if (depth == 0 && (kind is Kind.Comma or Kind.Close or Kind.End || ClauseOf(tokens, j, sql) != Clause.None))
                {
                    if (j == itemStart + 1 && tokens[itemStart].Kind == Kind.Parameter) found.Add((tokens[itemStart], position));
                    position++;
                    itemStart = j + 1;
                    if (kind != Kind.Comma) break;
                }
            }
            if (!(IsWord(tokens, j, sql, "UNION") || IsWord(tokens, j, sql, "INTERSECT") || IsWord(tokens, j, sql, "EXCEPT"))) break;
            var next = IsWord(tokens, j + 1, sql, "ALL") || IsWord(tokens, j + 1, sql, "DISTINCT") ? j + 2 : j + 1;
            if (!IsWord(tokens, next, sql, "SELECT")) break;
            j = next;
        }
        index = Math.Min(j, tokens.Count);
        return found;
    }

    static void Bind(string sql, Token parameter, Token column, string list, List<Entry> entries, byte[] states, int[] placed, KeyMatcher keys,
        List<string>? aliases)
    {
        var name = sql.AsSpan(parameter.Start + 1, parameter.Length - 1);
        for (var i = 0; i < entries.Count; i++)
        {
            if (!list.AsSpan(entries[i].NameStart, entries[i].NameEnd - entries[i].NameStart).Equals(name, StringComparison.OrdinalIgnoreCase))
                continue;
            placed[i]++;
            if (states[i] == 2) continue;
            states[i] = keys.IsSensitive(sql.Substring(column.Start, column.Length)) || IsAlias(aliases, sql.AsSpan(column.Start, column.Length))
                ? (byte)2
                : (byte)1;
        }
    }
}
