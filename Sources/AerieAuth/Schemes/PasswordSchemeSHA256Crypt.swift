/// SHA256-CRYPT: `$5$[rounds=N$]salt$hash` (Dovecot password-scheme-crypt.c).
struct SHA256CryptScheme: CryptFamilyScheme {
    let name = "SHA256-CRYPT"
    let isWeak = false
    let acceptedPrefixes = ["$5$"]
    let gensaltPrefix: String? = "$5$"
    let defaultRounds = 5000
}
