"""IMAP COMPRESS=DEFLATE (RFC 4978) end to end: a raw client that speaks raw DEFLATE (zlib wbits=-15, a sync flush
after every command) over implicit TLS and after STARTTLS; the server's responses arrive as complete sync-flushed
chunks (an IDLE notification too), and its inflater stays within the IMAP framer's limits."""

import imaplib
import re
import time
import zlib

import helpers
from helpers import RawIMAP

MESSAGE = (
    b"From: Alice Example <alice@example.com>\r\n"
    b"To: Bob <bob@example.com>\r\n"
    b"Subject: Compressed report\r\n"
    b"Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <compress-1@example.com>\r\n"
    b"\r\n" + b"All the numbers are in, and they repeat, repeat, repeat.\r\n" * 400
)


class DeflateSocket:
    """Stands in for RawIMAP's socket after COMPRESS: DEFLATE out (sync flush per send), INFLATE in."""

    def __init__(self, sock, already_read: bytes = b""):
        self.sock = sock
        self.compressor = zlib.compressobj(wbits=-15)
        self.decompressor = zlib.decompressobj(wbits=-15)
        self.pending = already_read
        self.raw_in = 0
        self.inflated_in = 0
        self.last_raw = b""

    def settimeout(self, timeout):
        self.sock.settimeout(timeout)

    def compress(self, data: bytes) -> bytes:
        return self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(self.compress(data))

    def recv(self, n: int) -> bytes:
        while True:
            if self.pending:
                raw, self.pending = self.pending, b""
            else:
                raw = self.sock.recv(n)
                if not raw:
                    return b""
            self.raw_in += len(raw)
            self.last_raw = (self.last_raw + raw)[-4:]
            out = self.decompressor.decompress(raw)
            self.inflated_in += len(out)
            if out:
                return out

    def close(self):
        self.sock.close()


def login(imap: RawIMAP, user) -> None:
    _, done = imap.run("l", f'LOGIN {user.name} "{user.password}"')
    assert done.startswith("l OK"), done


def compress(imap: RawIMAP, tag: str = "z") -> DeflateSocket:
    _, done = imap.run(tag, "COMPRESS DEFLATE")
    assert done.startswith(f"{tag} OK"), done
    # Anything already read behind the OK is compressed.
    wrapped = DeflateSocket(imap.sock, imap.buf)
    imap.sock, imap.buf = wrapped, b""
    return wrapped


def user(server):
    return server.users["sha512"]


def append_plain(server, message: bytes) -> None:
    other = imaplib.IMAP4_SSL("127.0.0.1", server.imaps_port, ssl_context=helpers.client_context(), timeout=15)
    u = user(server)
    other.login(u.name, u.password)
    typ, data = other.append("INBOX", None, None, message)
    assert typ == "OK", data
    other.logout()


def test_compress_is_advertised_only_after_login(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        assert "COMPRESS=DEFLATE" not in imap.greeting
        untagged, _ = imap.run("c", "CAPABILITY")
        assert "COMPRESS=DEFLATE" not in untagged[0]
        login(imap, user(server))
        untagged, done = imap.run("d", "CAPABILITY")
        assert done.startswith("d OK")
        assert "COMPRESS=DEFLATE" in untagged[0].split(), untagged


def test_compress_before_login_is_refused_and_nothing_changes(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        _, done = imap.run("a", "COMPRESS DEFLATE")
        assert done.startswith("a BAD"), done
        # Still plaintext IMAP inside TLS: the next command is read and answered uncompressed.
        _, done = imap.run("b", "NOOP")
        assert done == "b OK NOOP completed.", done


def test_unknown_algorithm_is_bad_and_leaves_the_stream_uncompressed(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        login(imap, user(server))
        _, done = imap.run("a", "COMPRESS LZW")
        assert done.startswith("a BAD"), done
        _, done = imap.run("b", "NOOP")
        assert done.startswith("b OK"), done


def test_select_fetch_append_and_logout_over_compressed_imaps(server):
    u = user(server)
    with RawIMAP(server.imaps_port, tls=True) as imap:
        login(imap, u)
        wire = compress(imap)
        # An APPEND whose literal travels compressed, with a synchronizing literal and its continuation.
        imap.cmd(f"a APPEND INBOX {{{len(MESSAGE)}}}")
        assert imap.readline().startswith("+"), "no continuation for the literal"
        imap.send(MESSAGE + b"\r\n")
        _, done = imap.read_tagged("a")
        assert done.startswith("a OK"), done
        uid = re.search(r"APPENDUID \d+ (\d+)", done).group(1)
        # Every response ends a sync-flushed chunk: the client never waits for bytes the server still holds.
        assert wire.last_raw == b"\x00\x00\xff\xff"

        untagged, done = imap.run("b", "SELECT INBOX")
        assert done.startswith("b OK"), done
        assert any(re.match(r"^\* \d+ EXISTS$", line) for line in untagged), untagged

        imap.cmd(f"c UID FETCH {uid} BODY.PEEK[]")
        header = imap.readline()
        size = int(re.search(r"\{(\d+)\}$", header).group(1))
        while len(imap.buf) < size:
            imap.buf += imap.sock.recv(65536)
        body, imap.buf = imap.buf[:size], imap.buf[size:]
        assert body == MESSAGE
        assert imap.readline() == ")"
        _, done = imap.read_tagged("c")
        assert done.startswith("c OK"), done
        # The repetitive message really travelled compressed.
        assert wire.raw_in * 4 < wire.inflated_in, (wire.raw_in, wire.inflated_in)

        _, done = imap.run("d", "COMPRESS DEFLATE")
        assert done.startswith("d NO [COMPRESSIONACTIVE]"), done

        _, done = imap.run("e", "LOGOUT")
        assert done.startswith("e OK"), done
        assert imap.read_until_closed() == []


def test_idle_notification_arrives_compressed_after_starttls(server):
    u = user(server)
    with RawIMAP(server.imap_port) as imap:
        imap.starttls()
        login(imap, u)
        compress(imap)
        _, done = imap.run("b", "SELECT INBOX")
        assert done.startswith("b OK"), done
        imap.cmd("c IDLE")
        assert imap.readline().startswith("+"), "no IDLE continuation"
        append_plain(server, MESSAGE)
        # Only a sync flush lets the client inflate this before the server's next response.
        line = imap.readline(timeout=5)
        assert re.match(r"^\* \d+ EXISTS$", line), line
        imap.send("DONE\r\n")
        _, done = imap.read_tagged("c")
        assert done.startswith("c OK"), done
        _, done = imap.run("d", "LOGOUT")
        assert done.startswith("d OK"), done


def test_command_sent_right_behind_compress_is_inflated(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        login(imap, user(server))
        # A client that does not wait for the OK: its next command is already compressed in the same packet.
        early = zlib.compressobj(wbits=-15)
        imap.send(b"z COMPRESS DEFLATE\r\n" + early.compress(b"y NOOP\r\n") + early.flush(zlib.Z_SYNC_FLUSH))
        _, done = imap.read_tagged("z")
        assert done.startswith("z OK"), done
        wire = DeflateSocket(imap.sock, imap.buf)
        wire.compressor = early
        imap.sock, imap.buf = wire, b""
        _, done = imap.read_tagged("y")
        assert done.startswith("y OK"), done


def test_corrupt_compressed_input_closes_the_connection(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        login(imap, user(server))
        wire = compress(imap)
        # BFINAL=1 with the reserved block type 11.
        wire.sock.sendall(b"\xff\xff\xff\xff")
        assert imap.read_until_closed() == []
    deadline = time.monotonic() + 5
    while "Invalid compressed input" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Disconnected: Invalid compressed input" in server.log()


def test_a_decompression_bomb_meets_the_line_limit(server):
    with RawIMAP(server.imaps_port, tls=True) as imap:
        login(imap, user(server))
        wire = compress(imap)
        # 16 MiB of one byte and no line end, in about 16 KiB on the wire: a ratio of 1000.
        bomb = wire.compressor.compress(b"a" * (16 << 20)) + wire.compressor.flush(zlib.Z_SYNC_FLUSH)
        assert len(bomb) < 32 * 1024
        try:
            wire.sock.sendall(bomb)
        except OSError:
            pass  # the server may close before it has read the whole bomb
        lines = imap.read_until_closed()
        assert any(line.startswith("* BYE [TOOBIG]") for line in lines), lines
    # The server is unharmed.
    with RawIMAP(server.imaps_port, tls=True) as imap:
        _, done = imap.run("a", "NOOP")
        assert done.startswith("a OK"), done
