"""A raw RESP connection for tests that need what a client library hides:
exact bytes on the wire, pipelining by hand, RESP3 types, error replies as
values. encode() makes a request (an array of bulk strings); RawConn reads
RESP2 and RESP3 replies, an error reply as an Err (a str). free_port() picks
a port for a server under test.
"""
import socket


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Err(str):
    """An error reply from a raw connection."""


class RawConn:
    """A plain socket with a small RESP2/RESP3 reply reader."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.s.settimeout(timeout)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        d = self.s.recv(65536)
        if not d:
            raise ConnectionError("connection closed by the server")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return Err(rest.decode(errors="replace"))
        if t == b":":
            return int(rest)
        if t in (b"$", b"="):
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        if t == b"%":
            return {self.reply(): self.reply() for _ in range(int(rest))}
        if t == b"_":
            return None
        if t == b"#":
            return rest == b"t"
        if t == b",":
            return float(rest)
        raise ValueError(f"unexpected reply line {line!r}")

    def command(self, *args):
        self.send(encode(*args))
        return self.reply()

    def read_until_close(self, timeout=3):
        """All bytes until the server closes; ('...', False) if it did not close in time."""
        self.s.settimeout(timeout)
        out = self.buf
        self.buf = b""
        try:
            while True:
                d = self.s.recv(65536)
                if not d:
                    return out, True
                out += d
        except (socket.timeout, TimeoutError):
            return out, False
        except ConnectionResetError:
            return out, True

    def close(self):
        self.s.close()


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
