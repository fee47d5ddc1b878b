/// SHA512-CRYPT: glibc/libxcrypt `$6$[rounds=N$]salt$hash` (Dovecot password-scheme-crypt.c).
struct SHA512CryptScheme: CryptFamilyScheme {
    let name = "SHA512-CRYPT"
    let isWeak = false
    let acceptedPrefixes = ["$6$"]
    let gensaltPrefix: String? = "$6$"
    /// 5000 is the SHA-crypt default; libxcrypt then omits `rounds=` exactly as doveadm does.
    let defaultRounds = 5000
}
