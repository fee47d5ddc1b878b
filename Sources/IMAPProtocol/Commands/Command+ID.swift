extension ByteCursor {
    /// RFC 2971 §3.1 and §4: `id = "ID" SP id_params_list`,
    /// `id_params_list = "(" #(string SP nstring) ")" / nil` (space-separated pairs, possibly none),
    /// bounded as §3.3 says: 30 pairs, 30-octet names, 1024-octet values.
    mutating func parseIDArguments() throws(ParseFailure) -> IMAPCommandParser.Parsed {
        try parseArgumentSeparator(missing: "Missing ID parameters")
        if consumeNIL() {
            try parseCommandEnd()
            return IMAPCommandParser.Parsed(kind: .id(nil))
        }
        let fields = try parseIDParameterList()
        try parseCommandEnd()
        return IMAPCommandParser.Parsed(kind: .id(IDParameters(fields)))
    }

    private mutating func parseIDParameterList() throws(ParseFailure) -> [IDParameters.Field] {
        try expect(ASCII.openParen, orElse: "Expected '(' or NIL")
        return try nested { cursor throws(ParseFailure) in
            var fields: [IDParameters.Field] = []
            if cursor.consume(ASCII.closeParen) { return fields }
            while true {
                guard fields.count < IDParameters.maximumFields else {
                    throw .syntax(IMAPParseError.Message.tooManyIDParameters)
                }
                let name = try cursor.parseString(what: "ID field name")
                guard name.bytes.count <= IDParameters.maximumNameLength else {
                    throw .syntax(IMAPParseError.Message.idFieldTooLong)
                }
                try cursor.parseArgumentSeparator(missing: "Missing ID field value")
                let value = try cursor.parseNString(what: "ID field value")
                guard (value?.bytes.count ?? 0) <= IDParameters.maximumValueLength else {
                    throw .syntax(IMAPParseError.Message.idValueTooLong)
                }
                fields.append(IDParameters.Field(
                    name: String(decoding: name.bytes, as: UTF8.self),
                    value: value.map { String(decoding: $0.bytes, as: UTF8.self) }
                ))
                if cursor.consume(ASCII.closeParen) { return fields }
                try cursor.parseArgumentSeparator(missing: "Missing ')'")
            }
        }
    }
}
