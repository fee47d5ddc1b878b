import Glibc

/// A fresh directory `/tmp/aerie-LABEL-XXXXXX`; the caller deletes it with `removeTree`.
public func makeTempDirectory(_ label: String) -> String {
    var template = Array("/tmp/aerie-\(label)-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    // A failed mkdtemp leaves the template unchanged: the suffix keeps a test out of a path every run would share.
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        + (path == nil ? "-failed" : "")
}

/// `rm -rf path`, without following symbolic links.
public func removeTree(_ path: String) {
    guard let dir = opendir(path) else {
        unlink(path)
        return
    }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name == "." || name == ".." { continue }
        let child = "\(path)/\(name)"
        var info = stat()
        if lstat(child, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
    }
    closedir(dir)
    rmdir(path)
}
