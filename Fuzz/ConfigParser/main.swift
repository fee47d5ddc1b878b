import AerieConfig

/// libFuzzer entry: the input is a whole configuration file; file access is off so no input can read the disk.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let options = ConfigLoadOptions(allowFileAccess: false)
    if let loaded = try? ConfigLoader.load(text: text, path: "/nonexistent-aerie-fuzz/fuzz.conf", options: options) {
        // Exercise the output paths too: dump must re-load without new errors.
        let dump = loaded.dump(nonDefaultOnly: true)
        _ = loaded.securityWarnings()
        _ = loaded.settings.forProtocol("imap")
        _ = try? ConfigLoader.load(text: dump, path: "/nonexistent-aerie-fuzz/dump.conf", options: options)
    }
    return 0
}
