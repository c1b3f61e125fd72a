using System.Security.Cryptography;
using System.Text;

namespace Serilog.Extensions.Observability.Enrichers.Enrichment;

/// <summary>
/// Replaces a user id with HMAC-SHA256(key, UTF-8 id) as 64 lowercase hex characters: the same id and key
/// always give the same value, a different key gives an unrelated one, and without the key it cannot be reversed
/// or recomputed from a guessed id.
/// </summary>
sealed class UserIdPseudonymizer
{
    public const int MinimumKeyBytes = 16;

    readonly byte[] _key;

    public UserIdPseudonymizer(byte[] key)
    {
        if (key.Length < MinimumKeyBytes)
            throw new ArgumentException($"The pseudonym key must be at least {MinimumKeyBytes} bytes (UTF-8).", "pseudonymKey");
        _key = (byte[])key.Clone();
    }

    public static UserIdPseudonymizer FromString(string key)
    {
        Guard.NotUnexpandedVariable(key, "pseudonymKey");
        return new(Encoding.UTF8.GetBytes(key));
    }

    public string Pseudonymize(string userId)
    {
        var hash = HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(userId));
#if NET9_0_OR_GREATER
        return Convert.ToHexStringLower(hash);
#else
        return Convert.ToHexString(hash).ToLowerInvariant();
#endif
    }
}
