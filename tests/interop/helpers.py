"""Shared helpers for the interoperability tests: ports, processes, OpenSSH
client invocations and a minimal raw SFTP v3 client over a paramiko channel."""

import hashlib
import os
import re
import socket
import struct
import subprocess
import time

SSH_OPTS = [
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "LogLevel=ERROR",
    "-o", "ConnectTimeout=20",
]


# OpenSSH's sftp client cannot send a WRITE with more than this many bytes (256 KiB - 1024).
PUT_MAX_BUF = 261120


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_random(path, size, seed=None):
    """Write `size` pseudo-random bytes to `path` (fast, reproducible per seed)."""
    data = os.urandom(size) if seed is None else _seeded(size, seed)
    with open(path, "wb") as f:
        f.write(data)
    return data


def _seeded(size, seed):
    out = bytearray()
    counter = 0
    base = str(seed).encode()
    while len(out) < size:
        out += hashlib.sha512(base + counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def null_device(tmp_path):
    """A character device that discards what is written to it: a copy of /dev/null made with
    mknod in tmp_path (root in CI), else /dev/null itself. A download to it must write to the
    device, not replace it with a regular file."""
    import stat as _stat
    path = tmp_path / "null-device"
    try:
        os.mknod(path, 0o666 | _stat.S_IFCHR, os.makedev(1, 3))
        return path
    except (PermissionError, OSError):
        return "/dev/null"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def run(cmd, timeout=300, check=False, input=None, cwd=None, env=None):
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, input=input, cwd=cwd, env=env)
    if check and p.returncode != 0:
        raise AssertionError(
            f"command failed ({p.returncode}): {cmd}\nstdout:\n{p.stdout.decode(errors='replace')}"
            f"\nstderr:\n{p.stderr.decode(errors='replace')}"
        )
    return p


def sftp_cmd(server, extra=()):
    """argv for OpenSSH's sftp against a server object (key auth)."""
    return ["sftp", *SSH_OPTS, "-i", server.key, "-P", str(server.port), *extra,
            f"{server.user}@127.0.0.1"]


def sftp_batch(server, commands, tmp_path, extra=(), cwd=None, timeout=300):
    """Run `sftp -b BATCH`; returns CompletedProcess (stdout/stderr decoded)."""
    batch = tmp_path / f"batch-{time.monotonic_ns()}.txt"
    batch.write_text("\n".join(commands) + "\n")
    cmd = sftp_cmd(server, ["-b", str(batch), *extra])
    p = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd or tmp_path, text=True,
                       errors="replace")
    return p


def sftp_direct_batch(wrapper, commands, tmp_path, extra=(), cwd=None, timeout=300):
    """Run `sftp -D WRAPPER -b BATCH` (direct mode over stdio, no SSH)."""
    batch = tmp_path / f"batch-{time.monotonic_ns()}.txt"
    batch.write_text("\n".join(commands) + "\n")
    cmd = ["sftp", "-D", str(wrapper), "-b", str(batch), *extra]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=cwd or tmp_path, text=True,
                          errors="replace")


def assert_ok(p, what=""):
    assert p.returncode == 0, (
        f"{what} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    )


def count_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_until(pred, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------------------
# Raw SFTP v3
# --------------------------------------------------------------------------
FXP_INIT, FXP_VERSION = 1, 2
FXP_OPEN, FXP_CLOSE, FXP_READ, FXP_WRITE = 3, 4, 5, 6
FXP_LSTAT, FXP_FSTAT, FXP_SETSTAT, FXP_FSETSTAT = 7, 8, 9, 10
FXP_OPENDIR, FXP_READDIR, FXP_REMOVE, FXP_MKDIR, FXP_RMDIR = 11, 12, 13, 14, 15
FXP_REALPATH, FXP_STAT, FXP_RENAME, FXP_READLINK, FXP_SYMLINK = 16, 17, 18, 19, 20
FXP_STATUS, FXP_HANDLE, FXP_DATA, FXP_NAME, FXP_ATTRS = 101, 102, 103, 104, 105
FXP_EXTENDED, FXP_EXTENDED_REPLY = 200, 201

FX_OK, FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED, FX_FAILURE = 0, 1, 2, 3, 4
FX_BAD_MESSAGE, FX_NO_CONNECTION, FX_CONNECTION_LOST, FX_OP_UNSUPPORTED = 5, 6, 7, 8

FXF_READ, FXF_WRITE, FXF_APPEND, FXF_CREAT, FXF_TRUNC, FXF_EXCL = 1, 2, 4, 8, 16, 32


def u32(n):
    return struct.pack(">I", n)


def u64(n):
    return struct.pack(">Q", n)


def sstr(b):
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + b


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u32(self):
        v = struct.unpack_from(">I", self.data, self.pos)[0]
        self.pos += 4
        return v

    def u64(self):
        v = struct.unpack_from(">Q", self.data, self.pos)[0]
        self.pos += 8
        return v

    def string(self):
        n = self.u32()
        v = self.data[self.pos:self.pos + n]
        assert len(v) == n, "truncated string in reply"
        self.pos += n
        return v

    def rest(self):
        v = self.data[self.pos:]
        self.pos = len(self.data)
        return v

    def done(self):
        return self.pos >= len(self.data)


class RawSFTP:
    """Hand-built SFTP packets over a channel with the sftp subsystem."""

    def __init__(self, transport, timeout=30, window_size=None, max_packet_size=None):
        self.transport = transport
        self.chan = transport.open_session(timeout=timeout, window_size=window_size, max_packet_size=max_packet_size)
        self.chan.settimeout(timeout)
        self.chan.invoke_subsystem("sftp")
        self.next_id = 1
        self.buf = b""
        self.extensions = {}

    def send_raw(self, data):
        self.chan.sendall(data)

    def send_packet(self, ptype, body):
        payload = bytes([ptype]) + body
        self.send_raw(u32(len(payload)) + payload)

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.chan.recv(1 << 20)
            if not chunk:
                raise EOFError("channel closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_packet(self):
        length = struct.unpack(">I", self.recv_exact(4))[0]
        data = self.recv_exact(length)
        return data[0], data[1:]

    def init(self):
        self.send_packet(FXP_INIT, u32(3))
        t, body = self.recv_packet()
        assert t == FXP_VERSION, f"expected VERSION, got {t}"
        r = Reader(body)
        version = r.u32()
        while not r.done():
            name = r.string().decode()
            self.extensions[name] = r.string().decode()
        return version

    def request(self, ptype, body):
        rid = self.next_id
        self.next_id += 1
        self.send_packet(ptype, u32(rid) + body)
        return rid

    def reply(self, rid=None):
        t, body = self.recv_packet()
        r = Reader(body)
        got = r.u32()
        if rid is not None:
            assert got == rid, f"reply id {got} != request id {rid}"
        return t, r

    def call(self, ptype, body):
        return self.reply(self.request(ptype, body))

    @staticmethod
    def status_code(t, r):
        assert t == FXP_STATUS, f"expected STATUS, got {t}"
        return r.u32()

    def open(self, path, pflags=FXF_READ, attrs=b"\0\0\0\0"):
        t, r = self.call(FXP_OPEN, sstr(path) + u32(pflags) + attrs)
        if t != FXP_HANDLE:
            raise OSError(f"OPEN {path!r} failed: {self.status_code(t, r)}")
        return r.string()

    def close_handle(self, handle):
        t, r = self.call(FXP_CLOSE, sstr(handle))
        return self.status_code(t, r)

    def realpath(self, path):
        t, r = self.call(FXP_REALPATH, sstr(path))
        assert t == FXP_NAME, f"REALPATH {path!r}: got type {t}"
        assert r.u32() == 1
        return r.string().decode()

    def close(self):
        try:
            self.chan.close()
        except Exception:
            pass


_LISTEN_RE_TEMPLATE = r"SFTP listening on 127\.0\.0\.1:{port}"


def wait_for_line(read_text, pattern, timeout, proc=None):
    """Poll `read_text()` until regex `pattern` matches; returns the match or None."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = rx.search(read_text())
        if m:
            return m
        if proc is not None and proc.poll() is not None:
            return rx.search(read_text())
        time.sleep(0.1)
    return None
