using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Serilog.Extensions.Observability.Redaction.Core;

namespace Serilog.Extensions.Observability.Redaction.Keys;

/// <summary>
/// Decides whether a key (property, member, dictionary or JSON key) names a sensitive value. Decisions are cached
/// per raw key, so the hot path is one lookup without allocation; the cache is bounded because dictionary and
/// JSON keys come from data, and it replaces entries, so keys that arrive after it is full still get a place.
/// </summary>
sealed class KeyMatcher
{
    /// <summary>The text cache has this many sets of two entries.</summary>
    internal const int Sets = 2048;

    /// <summary>
    /// Longer keys are decided every time and never kept: dictionary and JSON keys come from data, so a count bound
    /// alone would let a few thousand long keys pin megabytes.
    /// </summary>
    internal const int MaximumCachedKeyLength = 128;

    readonly KeyRules? _rules;
    readonly KeyPatterns _additional;
    readonly KeyPatterns _excluded;
    /// <summary>The rules' query parameters (<see cref="KeyRules.QueryKeys"/>), normalised.</summary>
    readonly string[] _queryKeys;

    /// <summary>
    /// Decisions by key text: two ways per set (<c>[set * 2]</c> holds the one admitted last), immutable entries
    /// replaced whole. A key is admitted the second time it is seen (<see cref="Seen"/>), so keys that occur once
    /// (ids used as dictionary keys) never push out keys that come back; one that does replaces the older of its set.
    /// </summary>
    readonly Entry?[] _entries = new Entry?[Sets * 2];

    /// <summary>Text hashes of keys seen once and not admitted, by other bits of the hash than the set's.</summary>
    internal FirstSightings Seen { get; } = new(slots: Sets, shift: 16);

    public KeyMatcher(KeyRules? rules, IEnumerable<string> additionalKeys, IEnumerable<string> excludedKeys)
    {
        _rules = rules;
        _additional = new KeyPatterns(additionalKeys, "additionalKeys");
        _excluded = new KeyPatterns(excludedKeys, "excludedKeys");
        _queryKeys = rules is null ? [] : [.. rules.QueryKeys];
    }

    public bool IsSensitive(string? key)
    {
        if (string.IsNullOrEmpty(key)) return false;

        // Property names are mostly the same string instances event after event (template tokens, enricher
        // constants): a slot checked by reference answers them without hashing the text. A slot holds the last
        // instance of its hash with that answer, overwritten on collision: nothing allocated, and keys that collide
        // only cost each other a trip to the text cache.
        var slot = SlotOf(key);
        if (ReferenceEquals(Volatile.Read(ref _recentSafe[slot]), key)) return false;
        if (ReferenceEquals(Volatile.Read(ref _recentSensitive[slot]), key)) return true;

        if (key.Length > MaximumCachedKeyLength) return Decide(key);

        var hash = key.GetHashCode();
        if (!TryGetCached(key, hash, out var sensitive))
        {
            sensitive = Decide(key);
            Admit(key, hash, sensitive);
        }

        // Readers only compare the reference they hold with the slot's: no ordering is needed beyond the atomic write.
        Volatile.Write(ref (sensitive ? _recentSensitive : _recentSafe)[slot], key);
        return sensitive;
    }

    /// <summary>
    /// <see cref="IsSensitive"/> for a key read out of free text (<c>Password=...</c> in a connection string): answered
    /// from the cache when the key is there, but never added to it, so arbitrary text cannot crowd out property names.
    /// </summary>
    public bool IsSensitiveTextKey(string key)
    {
        if (key.Length == 0) return false;
        return key.Length <= MaximumCachedKeyLength && TryGetCached(key, key.GetHashCode(), out var sensitive) ? sensitive : Decide(key);
    }

    /// <summary>
    /// <see cref="IsSensitiveTextKey(string)"/> for a key read out of text where it stands (a <c>key=value</c> pair's, a
    /// name in Entity Framework Core's key values, <c>{Id: 1}</c>, or a form field's, which are written anew for every
    /// event, and a text too long for the memo of clean texts is read anew every time): once decided, the
    /// same text is answered without making a string of it or deciding it again. Not added to the cache of property
    /// names either.
    /// </summary>
    public bool IsSensitiveTextKey(ReadOnlySpan<char> key)
    {
        if (key.Length == 0) return false;
        if (key.Length > MaximumTextNameLength) return IsSensitiveTextKey(key.ToString());
        var set = TextNameSetOf(key) * 2;
        var names = _textNames;
        var newer = Volatile.Read(ref names[set]);
        if (newer is not null && key.SequenceEqual(newer.Key)) return newer.Sensitive;
        if (Volatile.Read(ref names[set + 1]) is { } older && key.SequenceEqual(older.Key)) return older.Sensitive;
        var text = key.ToString();
        var sensitive = IsSensitiveTextKey(text);
        // The newer entry becomes the older, which goes: a name that lost its place costs a string and a decision, as
        // every name did before. Two names of one set that every event reads are both kept.
        Volatile.Write(ref names[set + 1], newer);
        Volatile.Write(ref names[set], new Entry(text, sensitive));
        return sensitive;
    }

    /// <summary>
    /// Whether two words written apart in text name a secret together: joined, they are a key or a phrase of the rules
    /// (<c>API key</c>, <c>Refresh token</c>, <c>Client secret</c>). A sensitive word after another that only says which
    /// one (<c>The token</c>, <c>Reset password</c>) is not such a pair: prose writes those. Without the default rules, no
    /// two words are; the added and excluded keys are for the caller to apply to the words together. Read where the
    /// words stand, without allocating.
    /// </summary>
    public bool IsSensitiveCompound(ReadOnlySpan<char> first, ReadOnlySpan<char> second)
    {
        if (_rules is null) return false;
        var length = first.Length + second.Length;
        Span<char> joined = length <= 256 ? stackalloc char[length] : new char[length];
        var written = KeyText.Normalize(first, joined);
        written += KeyText.Normalize(second, joined[written..]);
        return _rules.IsCompound(joined[..written]);
    }

    /// <summary>
    /// <see cref="IsSensitiveTextKey(ReadOnlySpan{char})"/> for a key that may be a configuration path written as data
    /// (the key hole of <c>"{Key}={Value}"</c>): its <c>:</c> separates segments as a dotted key's <c>.</c> does, so the
    /// path is decided by its words and by its last segment (<c>Db:ConnStr</c> as <c>ConnStr</c> is, the key the
    /// <c>key=value</c> detector reads in <c>Db:ConnStr=...</c> text), and a path whose whole is excluded is kept.
    /// </summary>
    public bool IsSensitivePathKey(ReadOnlySpan<char> key)
    {
        if (key.IndexOf(':') < 0 || key.Length > MaximumTextNameLength) return IsSensitiveTextKey(key);
        // Where it stands, on the stack: read for every event, and answered by the memo once decided.
        Span<char> path = stackalloc char[key.Length];
        key.CopyTo(path);
        path.Replace(':', '.');
        return IsSensitiveTextKey(path);
    }

    /// <summary>How many keys read out of text are kept: two in each of half as many sets.</summary>
    internal const int TextNameSlots = 128;

    /// <summary>
    /// Longer keys read out of text are decided every time and never kept; as long as the longest key the cache of property
    /// names keeps, so that a form field's name built from its controls' path (ASP.NET Web Forms') is kept too: 32 KB at most.
    /// </summary>
    internal const int MaximumTextNameLength = MaximumCachedKeyLength;

    /// <summary>
    /// Keys read out of text, two ways per set of <see cref="TextNameSetOf"/> (<c>[set * 2]</c> holds the newer), with
    /// the rules' answer: immutable entries replaced whole.
    /// </summary>
    readonly Entry?[] _textNames = new Entry?[TextNameSlots];

    /// <summary>
    /// From the text alone (no per-process hash seed, no object identity): which names share a set is the same in
    /// every run, so a steady state without allocation does not hold in some runs only.
    /// </summary>
    internal static int TextNameSetOf(ReadOnlySpan<char> key)
    {
        var hash = key.Length;
        foreach (var c in key) hash = hash * 31 + c;
        return (hash ^ (hash >>> 7)) & (TextNameSlots / 2 - 1);
    }

    /// <summary>Longer keys are never one of the rules' query parameters, so they are not normalised to be looked up.</summary>
    const int MaximumQueryKeyLength = 32;

    /// <summary>
    /// <see cref="IsSensitiveTextKey(string)"/> for a key read out of a URL query (right after <c>?</c> or <c>&amp;</c>): also
    /// the rules' query parameters (OAuth's <c>code</c>, <c>state</c>, <c>nonce</c>), unless an excluded key names
    /// them. Nothing is cached: the answer differs from the key's own.
    /// </summary>
    public bool IsSensitiveQueryKey(string key) => IsSensitiveTextKey(key) || IsQueryParameter(key);

    /// <summary>
    /// <see cref="IsSensitiveQueryKey(string)"/> for a key read out of text where it stands (a form field's name):
    /// answered as <see cref="IsSensitiveTextKey(ReadOnlySpan{char})"/> answers, without a string once decided.
    /// </summary>
    public bool IsSensitiveQueryKey(ReadOnlySpan<char> key) => IsSensitiveTextKey(key) || IsQueryParameter(key);

    /// <summary>Whether the key is one of the rules' query parameters that no excluded key names.</summary>
    bool IsQueryParameter(ReadOnlySpan<char> key)
    {
        if (_queryKeys.Length == 0 || key.Length > MaximumQueryKeyLength) return false;
        // Normalised on the stack and compared with the few query keys: most keys in a query are none of them.
        Span<char> buffer = stackalloc char[MaximumQueryKeyLength];
        var normalized = buffer[..KeyText.Normalize(key, buffer)];
        foreach (var queryKey in _queryKeys)
        {
            if (normalized.SequenceEqual(queryKey)) return !_excluded.Matches(queryKey);
        }
        return false;
    }

    bool TryGetCached(string key, int hash, out bool sensitive)
    {
        var set = (hash & (Sets - 1)) * 2;
        var entry = Volatile.Read(ref _entries[set]);
        if (entry is null || !string.Equals(entry.Key, key, StringComparison.Ordinal))
        {
            entry = Volatile.Read(ref _entries[set + 1]);
            if (entry is null || !string.Equals(entry.Key, key, StringComparison.Ordinal))
            {
                sensitive = false;
                return false;
            }
        }
        sensitive = entry.Sensitive;
        return true;
    }

    /// <summary>
    /// After a miss: remembers a first sighting, or adds the key to the first way of its set, the entry there moving to
    /// the second (the one admitted earlier of the two goes). Racing writers at worst duplicate or drop an entry;
    /// every entry holds the rules' answer for its own key.
    /// </summary>
    void Admit(string key, int hash, bool sensitive)
    {
        if (!Seen.SeenBefore(hash)) return;

        var set = (hash & (Sets - 1)) * 2;
        if (Volatile.Read(ref _entries[set]) is { } newer) Volatile.Write(ref _entries[set + 1], newer);
        Volatile.Write(ref _entries[set], new Entry(key, sensitive));
    }

    const int SafeNameSlots = 512;

    /// <summary>Longer names are still decided and cached by text, but never pinned in the safe-name slots.</summary>
    internal const int MaximumSafeNameLength = 128;

    /// <summary>
    /// Event property names the rules found not sensitive, by instance: a slot holds the very string that was
    /// checked, so a hit is one load and a reference comparison, and a name can only pass here if the rules passed
    /// that exact (immutable) string. Sensitive names are never stored; a different instance with the same text misses
    /// and goes to the rules. A slot is overwritten on collision: fixed size, nothing allocated.
    /// </summary>
    readonly string?[] _safeNames = new string?[SafeNameSlots];

    /// <summary>
    /// Whether <paramref name="name"/> is this very instance of a property name already found not sensitive.
    /// <see langword="false"/> means "not known", never "sensitive": ask <see cref="IsSensitivePropertyName"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsKnownSafeName(string name)
    {
        return name.Length != 0 &&
               ReferenceEquals(Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_safeNames), SafeSlotOf(name)), name);
    }

    /// <summary><see cref="IsSensitive"/> for an event property name; a name found safe is remembered for <see cref="IsKnownSafeName"/>.</summary>
    public bool IsSensitivePropertyName(string name)
    {
        if (IsSensitive(name)) return true;
        if (name.Length is > 0 and <= MaximumSafeNameLength)
        {
            // Readers only compare the reference they hold with the slot's: no ordering is needed beyond the atomic write.
            Volatile.Write(ref _safeNames[SafeSlotOf(name)], name);
        }
        return false;
    }

    /// <summary>The characters of every key the caches hold (for tests): bounded by counts and lengths.</summary>
    internal long RetainedKeyCharacters
    {
        get
        {
            long total = 0;
            foreach (var entry in _entries) total += entry?.Key.Length ?? 0;
            foreach (var key in _recentSafe) total += key?.Length ?? 0;
            foreach (var key in _recentSensitive) total += key?.Length ?? 0;
            foreach (var name in _safeNames) total += name?.Length ?? 0;
            foreach (var entry in _textNames) total += entry?.Key.Length ?? 0;
            foreach (var entry in _genericTypeNames) total += entry?.Key.Length ?? 0;
            return total;
        }
    }

    /// <summary>How many characters the memo of keys read out of text holds (for tests): bounded by its slots.</summary>
    internal long RetainedTextNameCharacters
    {
        get
        {
            long total = 0;
            foreach (var entry in _textNames) total += entry?.Key.Length ?? 0;
            return total;
        }
    }

    /// <summary>How many safe-name slots hold a name (for tests): never more than the fixed number of slots.</summary>
    internal int KnownSafeNameCount
    {
        get
        {
            var count = 0;
            foreach (var name in _safeNames)
            {
                if (name is not null) count++;
            }
            return count;
        }
    }

    /// <summary>From the length and two characters of a non-empty name; collisions only cost a trip to the rules.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int SafeSlotOf(string name)
    {
        var length = name.Length;
        return ((length << 5) ^ name[length - 1] ^ (name[length >> 1] << 2)) & (SafeNameSlots - 1);
    }

    const int RecentSlots = 512;

    /// <summary>A slot from the length and three characters: cheaper than hashing the text or the identity.</summary>
    static int SlotOf(string key)
    {
        var hash = key.Length * 31 + key[0];
        hash = hash * 31 + key[key.Length >> 1];
        hash = hash * 31 + key[^1];
        return hash & (RecentSlots - 1);
    }

    /// <summary>
    /// Key instances last answered "safe" and "sensitive", by <see cref="SlotOf"/>: one array per answer, so a slot is
    /// one reference written whole, and an instance can only be found in the array of the answer the rules gave it.
    /// </summary>
    readonly string?[] _recentSafe = new string?[RecentSlots];
    readonly string?[] _recentSensitive = new string?[RecentSlots];

    const int GenericTypeNameSlots = 64;

    /// <summary>
    /// Generic entity type names as Entity Framework Core writes them (<c>IdentityUserRole&lt;string&gt;</c>), by
    /// <see cref="SlotOf"/>, each with the answer for its name before the type arguments: that name is a new string, which
    /// a change tracking event would otherwise allocate every time. Fixed size, overwritten on collision.
    /// </summary>
    readonly Entry?[] _genericTypeNames = new Entry?[GenericTypeNameSlots];

    /// <summary>
    /// Whether an entity type's name, as EF Core writes it, is sensitive: a generic type's name is decided by the name
    /// before its arguments (<c>IdentityUserToken&lt;string&gt;</c> by <c>IdentityUserToken</c>).
    /// </summary>
    public bool IsSensitiveTypeName(string typeName)
    {
        var generic = typeName.IndexOf('<');
        if (generic <= 0) return IsSensitive(typeName);
        if (typeName.Length > MaximumCachedKeyLength) return IsSensitive(typeName[..generic]);
        ref var slot = ref _genericTypeNames[SlotOf(typeName) & (GenericTypeNameSlots - 1)];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && string.Equals(entry.Key, typeName, StringComparison.Ordinal)) return entry.Sensitive;
        var sensitive = IsSensitive(typeName[..generic]);
        Volatile.Write(ref slot, new Entry(typeName, sensitive));
        return sensitive;
    }

    /// <summary>Immutable, so a slot is replaced whole and never read half-written.</summary>
    sealed class Entry
    {
        public Entry(string key, bool sensitive)
        {
            Key = key;
            Sensitive = sensitive;
        }

        public string Key { get; }
        public bool Sensitive { get; }
    }

    /// <summary>
    /// How many segments before the last a dotted key's excluded or safe last segment looks back over: deeper, what
    /// comes before counts as sensitive, so the key is decided by its whole-key rules. Keys come from data: the look-back
    /// must not recurse once per segment.
    /// </summary>
    const int MaximumSegmentLookBack = 8;

    bool Decide(string key) => Decide(key, 0);

    bool Decide(string key, int depth)
    {
        var words = KeyText.SplitWords(key);
        var normalized = string.Concat(words);
        if (normalized.Length == 0) return false;

        // "request.ConnStr": Microsoft.Extensions.Telemetry's [LogProperties] names a member after its parameter, a
        // nested one after each object on the way. The lists of whole keys (excluded, additional, the rules' keys and
        // safe keys) also take the last segment, so the member is decided as it is alone; the words below are those
        // of the whole key, so a sensitive word before it still counts ("db.password"). A last segment that is
        // excluded or safe keeps the key only when what comes before it is not sensitive: "token.Value" is a member
        // of an object the destructuring policy masks whole by its name.
        // Nor when the words on either side of the dot join into a sensitive one ("Api.Key", "Private.Key"): the dot
        // then splits one name, it does not end the object's.
        var dot = key.LastIndexOf('.');
        var last = LastSegment(key, dot, normalized, out var lastWords);
        bool? keeps = null;

        if (_excluded.Matches(normalized)
            || (last is not null && _excluded.Matches(last) && (keeps ??= LastSegmentMayKeep(key, dot, words, lastWords, depth))))
            return false;
        if (_additional.Matches(normalized) || (last is not null && _additional.Matches(last))) return true;
        if (_rules is null) return false;

        if (_rules.Keys.Contains(normalized) || (last is not null && _rules.Keys.Contains(last))) return true;
        if (_rules.SafeKeys.Contains(normalized)
            || (last is not null && _rules.SafeKeys.Contains(last) && (keeps ??= LastSegmentMayKeep(key, dot, words, lastWords, depth))))
            return false;

        var lastHit = -1;
        for (var i = 0; i < words.Count; i++)
        {
            // A sensitive word may be split by a separator or a capital ("pass_word", "PassWord", "PassPhrase").
            if (IsSensitiveWord(words[i])
                || (i > 0 && (_rules.IsPhrase(words[i - 1], words[i]) || _rules.Words.Contains(words[i - 1] + words[i]))))
                lastHit = i;
        }

        if (lastHit < 0) return false;

        // "token_count", "api_key_id", "access_token_expires_in": a word after the secret says what about it is logged.
        for (var i = lastHit + 1; i < words.Count; i++)
        {
            if (_rules.Descriptors.Contains(words[i])) return false;
        }

        return true;
    }

    /// <summary>The normalised text after the last <c>.</c> (at <paramref name="dot"/>), or null when that is all of the
    /// key or nothing.</summary>
    static string? LastSegment(string key, int dot, string normalized, out int wordCount)
    {
        wordCount = 0;
        if (dot < 0) return null;
        var words = KeyText.SplitWords(key[(dot + 1)..]);
        var last = string.Concat(words);
        if (last.Length == 0 || last.Length == normalized.Length) return null;
        wordCount = words.Count;
        return last;
    }

    /// <summary>
    /// Whether an excluded or safe last segment may keep the key: what comes before it is not sensitive, within
    /// <see cref="MaximumSegmentLookBack"/> segments, and its last word does not join the segment's first into a
    /// sensitive word or phrase.
    /// </summary>
    bool LastSegmentMayKeep(string key, int dot, List<string> words, int lastWordCount, int depth)
    {
        if (depth >= MaximumSegmentLookBack) return false;

        var first = words.Count - lastWordCount;
        if (first > 0 && _rules is not null)
        {
            var before = words[first - 1];
            var after = words[first];
            if (_rules.IsPhrase(before, after) || _rules.Words.Contains(before + after)
                || _rules.Keys.Contains(before + after))
                return false;
        }

        return !Decide(key[..dot], depth + 1);
    }

    bool IsSensitiveWord(string word)
    {
        var rules = _rules!;
        if (rules.Words.Contains(word)) return true;
        foreach (var suffix in rules.Suffixes)
        {
            if (word.EndsWith(suffix, StringComparison.Ordinal)) return true;
        }
        foreach (var part in rules.Contains)
        {
            if (word.Contains(part, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    /// <summary>Exact keys, <c>*suffix</c>, <c>prefix*</c> and <c>*part*</c> patterns over normalised keys.</summary>
    sealed class KeyPatterns
    {
        readonly FrozenSet<string> _exact;
        readonly string[] _prefixes;
        readonly string[] _suffixes;
        readonly string[] _contains;

        public KeyPatterns(IEnumerable<string> patterns, string parameterName)
        {
            var exact = new List<string>();
            var prefixes = new List<string>();
            var suffixes = new List<string>();
            var contains = new List<string>();
            foreach (var pattern in patterns)
            {
                if (string.IsNullOrWhiteSpace(pattern))
                    throw new ArgumentException("A key pattern must not be empty or white space.", parameterName);

                var trimmed = pattern.Trim();
                var leading = trimmed.StartsWith('*');
                var trailing = trimmed.EndsWith('*');
                var inner = trimmed.Trim('*');
                var core = KeyText.Normalize(inner);
                if (core.Length == 0 || inner.Contains('*'))
                    throw new ArgumentException(
                        $"The key pattern '{pattern}' is not valid: use 'key', '*suffix', 'prefix*' or '*part*' with at least one letter or digit.",
                        parameterName);

                if (leading && trailing) contains.Add(core);
                else if (leading) suffixes.Add(core);
                else if (trailing) prefixes.Add(core);
                else exact.Add(core);
            }

            _exact = exact.ToFrozenSet(StringComparer.Ordinal);
            _prefixes = prefixes.ToArray();
            _suffixes = suffixes.ToArray();
            _contains = contains.ToArray();
        }

        public bool Matches(string normalized)
        {
            if (_exact.Contains(normalized)) return true;
            foreach (var prefix in _prefixes)
            {
                if (normalized.StartsWith(prefix, StringComparison.Ordinal)) return true;
            }
            foreach (var suffix in _suffixes)
            {
                if (normalized.EndsWith(suffix, StringComparison.Ordinal)) return true;
            }
            foreach (var part in _contains)
            {
                if (normalized.Contains(part, StringComparison.Ordinal)) return true;
            }
            return false;
        }
    }
}
