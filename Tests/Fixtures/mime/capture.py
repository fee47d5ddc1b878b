#!/usr/bin/env python3
"""Captures Dovecot's FETCH output for every *.eml fixture here (run against dovecot-anchor).

Usage: python3 capture.py [host] [port]   -> writes NAME.expected (one 'ITEM\\n<len>\\n<bytes>\\n' record per item).
"""
import glob, os, re, socket, sys

HOST = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 10143
HERE = os.path.dirname(os.path.abspath(__file__))

# Items fetched for every message; sections that don't exist come back as NIL (recorded as such).
ITEMS = ["ENVELOPE", "BODY", "BODYSTRUCTURE", "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
         "BODY.PEEK[HEADER.FIELDS (SUBJECT from X-NONE)]", "BODY.PEEK[HEADER.FIELDS.NOT (Subject FROM)]",
         "BODY.PEEK[1]", "BODY.PEEK[1.MIME]", "BODY.PEEK[2]", "BODY.PEEK[2.MIME]", "BODY.PEEK[2.HEADER]",
         "BODY.PEEK[2.TEXT]", "BODY.PEEK[2.1]", "BODY.PEEK[2.1.MIME]", "BODY.PEEK[2.2]", "BODY.PEEK[1.1]",
         "BODY.PEEK[3]", "BODY.PEEK[5]", "BINARY.PEEK[1]", "BINARY.PEEK[2]", "BINARY.SIZE[1]", "RFC822.SIZE"]


class Conn:
    def __init__(self):
        self.s = socket.create_connection((HOST, PORT))
        self.buf = b""
        self.n = 0
        self.readline()

    def readline(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line + b"\r\n"

    def readn(self, n):
        while len(self.buf) < n:
            self.buf += self.s.recv(65536)
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def cmd(self, text, literal=None):
        self.n += 1
        tag = b"a%d" % self.n
        if literal is not None:
            self.s.sendall(tag + b" " + text + b" {%d}\r\n" % len(literal))
            self.readline()  # continuation
            self.s.sendall(literal + b"\r\n")
        else:
            self.s.sendall(tag + b" " + text + b"\r\n")
        out = b""
        while True:
            line = self.readline()
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if m:
                line += self.readn(int(m.group(1)))
                out += line
                continue
            out += line
            if line.startswith(tag + b" "):
                if not line.startswith(tag + b" OK"):
                    raise RuntimeError(line)
                return out[: len(out) - len(line)]


def main():
    c = Conn()
    c.cmd(b"LOGIN test1 pass")
    try:
        c.cmd(b"DELETE fixtures")
    except RuntimeError:
        pass
    c.cmd(b"CREATE fixtures")
    c.cmd(b"SELECT fixtures")
    names = sorted(glob.glob(os.path.join(HERE, "*.eml")))
    for seq, path in enumerate(names, 1):
        data = open(path, "rb").read()
        c.cmd(b"APPEND fixtures", data)
    c.cmd(b"SELECT fixtures")
    for seq, path in enumerate(names, 1):
        out = open(path[:-4] + ".expected", "wb")
        for item in ITEMS:
            try:
                resp = c.cmd(b"FETCH %d (%s)" % (seq, item.encode()))
            except RuntimeError as e:
                value = b"NO"
                out.write(item.encode() + b"\n%d\n" % len(value) + value + b"\n")
                continue
            prefix = b"* %d FETCH (" % seq
            assert resp.startswith(prefix) and resp.endswith(b")\r\n"), resp
            body = resp[len(prefix):-3]
            # body is "ITEMNAME value"; strip the response item name
            head = body.split(b" ", 1)[0]
            name_end = body.index(b"]") + 1 if b"[" in head else len(head)
            value = body[name_end + 1:]
            out.write(item.encode() + b"\n%d\n" % len(value) + value + b"\n")
        out.close()
        print("captured", os.path.basename(path))


if __name__ == "__main__":
    main()
