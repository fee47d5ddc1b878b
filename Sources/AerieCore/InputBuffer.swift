/// The bookkeeping the line framers (IMAP's and the POP3/LMTP one) share for their input buffers.
public enum InputBuffer {
    /// Reclaims consumed bytes at the front of `buffer`: all of them when everything was read (keeping a small
    /// allocation), else in bulk once at least 16 KiB and half the buffer are consumed, so the cost stays linear.
    public static func compact(_ buffer: inout [UInt8], readIndex: inout Int, scanIndex: inout Int) {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            readIndex = 0
            scanIndex = 0
        } else if readIndex >= 16 * 1024, readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }
}
