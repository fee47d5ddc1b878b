extension ByteCursor {
    /// RFC 9051 §6.2.3 and §9: `login = "LOGIN" SP userid SP password`, `userid = astring`,
    /// `password = astring`. Both must be valid UTF-8; the password is hidden from the description.
    mutating func parseLoginArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingUsername)
        let user = try parseAString(what: "username")
        try parseArgumentSeparator(missing: IMAPParseError.Message.missingPassword)
        let password = try parseAString(what: "password")
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(
            kind: .login(user: try user.utf8String("Username"), password: try password.utf8String("Password")),
            hidden: [password.range]
        )
    }
}
