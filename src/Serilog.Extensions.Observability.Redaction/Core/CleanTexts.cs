using System.Runtime.CompilerServices;

namespace Serilog.Extensions.Observability.Redaction.Core;

/// <summary>
/// The last strings read under one set of rules and found to hold nothing to mask, by instance, shared by every
/// redactor built with those rules and the same way of masking (<see cref="RedactorFactory"/> hands them one
/// instance). An event passes through the enricher's pass and then the sink wrapper's, and both look at the same string
/// instances: the second look, and the next event's look at a constant (a service name, a source context), is one
/// reference comparison instead of a scan by every detector.
/// </summary>
/// <remarks>
/// Only a string whose whole walk returned "unchanged" is remembered, so a masked or failed read never is. The verdict
/// depends on the text, on what decides what is masked and on how it is masked (<see cref="SharedBy"/>), nothing
/// else; strings are immutable and a hit needs the very instance. The name a string stands under is checked before
/// this memo is, by every caller. Slots are overwritten without locks: a reader sees a reference that was found clean,
/// or another one, never a torn one. Bounded: <see cref="Slots"/> strings of at most <see cref="MaximumLength"/>
/// characters per memo.
/// </remarks>
sealed class CleanTexts
{
    const int Slots = 64;

    /// <summary>Longer strings are not remembered: they would keep more memory alive than a scan of them costs.</summary>
    internal const int MaximumLength = 256;

    readonly string?[] _texts = new string?[Slots];

    public CleanTexts(string rules, string sharedBy)
    {
        Rules = rules;
        SharedBy = sharedBy;
    }

    /// <summary>What decides what is masked, as text (see <see cref="Redactor.Rules"/>).</summary>
    public string Rules { get; }

    /// <summary>The rules and how values are masked: redactors built with equal text share this memo.</summary>
    public string SharedBy { get; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Contains(string text) => ReferenceEquals(Volatile.Read(ref _texts[Slot(text)]), text);

    public void Add(string text)
    {
        if (text.Length <= MaximumLength) Volatile.Write(ref _texts[Slot(text)], text);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int Slot(string text) => RuntimeHelpers.GetHashCode(text) & (Slots - 1);
}
