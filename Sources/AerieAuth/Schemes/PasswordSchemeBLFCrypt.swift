/// BLF-CRYPT: bcrypt `$2y$NN$…` (Dovecot password-scheme-crypt.c); `$2a$` and `$2b$` verify too.
struct BLFCryptScheme: CryptFamilyScheme {
    let name = "BLF-CRYPT"
    let isWeak = false
    let acceptedPrefixes = ["$2a$", "$2b$", "$2y$", "$2x$"]
    let gensaltPrefix: String? = "$2y$"
    /// doveadm 2.3 writes cost 5; 10 (~70 ms here) is today's floor, and verification reads the cost from the hash anyway.
    let defaultRounds = 10
}
