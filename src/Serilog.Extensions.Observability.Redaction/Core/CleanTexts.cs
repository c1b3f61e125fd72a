using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The last strings one redactor read and found to hold nothing to mask, by instance. An event's constants (a service
/// name, a source context, an environment) are the same string instances on every event: after the first, each is one
/// reference comparison instead of a scan by every detector.
/// </summary>
/// <remarks>
/// Only a string whose whole walk returned "unchanged" is remembered, so a masked or failed read (a pattern that timed
/// out fails closed) never is. The verdict depends on the text and on the redactor's own settings, nothing else; one
/// memo per redactor, never shared between redactors (whose rules, masks or timeouts may differ). Strings are immutable
/// and a hit needs the very instance. The name a string stands under is checked before this memo is, by every caller.
/// Slots are overwritten without locks: a reader sees a reference that was found clean, or another one, never a torn
/// one. Bounded: <see cref="Slots"/> strings of at most <see cref="MaximumLength"/> characters.
/// </remarks>
sealed class CleanTexts
{
    const int Slots = 64;

    /// <summary>Longer strings are not remembered: they would keep more memory alive than a scan of them costs.</summary>
    internal const int MaximumLength = 256;

    readonly string?[] _texts = new string?[Slots];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(string text) => ReferenceEquals(Volatile.Read(ref _texts[Slot(text)]), text);

    public void Add(string text)
    {
        if (text.Length <= MaximumLength) Volatile.Write(ref _texts[Slot(text)], text);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Slot(string text) => RuntimeHelpers.GetHashCode(text) & (Slots - 1);
}
