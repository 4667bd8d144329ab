"""Hostile input against `wharf serve`: jail escapes, malformed and oversized packets, unknown
requests, closed handles, handle leaks. Raw packets go through paramiko's sftp subsystem channel."""

import errno
import hashlib
import os
import random
import socket
import time
import uuid

import paramiko
import pytest

from conftest import paramiko_transport
from helpers import (FX_BAD_MESSAGE, FX_FAILURE, FX_OK, FX_OP_UNSUPPORTED, FXF_CREAT, FXF_READ, FXF_TRUNC,
                     FXF_WRITE, FXP_CLOSE, FXP_DATA, FXP_EXTENDED, FXP_EXTENDED_REPLY, FXP_HANDLE,
                     FXP_NAME, FXP_OPEN, FXP_OPENDIR, FXP_READ, FXP_STATUS, FXP_WRITE, RawSFTP, Reader, count_fds, sstr,
                     u32, u64, wait_until)

REAL_PASSWD = open("/etc/passwd", "rb").read()
INVALID_HANDLE = 9  # SSH_FX_INVALID_HANDLE (filexfer v4+); v3 servers answer SSH_FX_FAILURE


def assert_still_serving(server):
    t = paramiko_transport(server)
    try:
        c = paramiko.SFTPClient.from_transport(t)
        assert c.normalize(".") == "/"
        c.listdir("/")
    finally:
        t.close()


def expect_ioerror(fn, *args):
    with pytest.raises(IOError) as ei:
        fn(*args)
    return ei.value


# ---------------------------------------------------------------- jail ----
def test_realpath_never_leaves_root(wharf_server, transport, sftp):
    assert sftp.normalize("/../../..") == "/"
    assert sftp.normalize("..") == "/"
    assert sftp.normalize("../../../..") == "/"
    raw = RawSFTP(transport)
    raw.init()
    assert raw.realpath("/../../..") == "/"
    assert raw.realpath("") == "/"
    assert raw.realpath("/./..//../.") == "/"
    raw.close()


def test_dotdot_and_absolute_paths_stay_in_home(wharf_server, sftp, workdir):
    remote, local_dir = workdir
    home = wharf_server.home
    assert not os.path.exists(os.path.join(home, "etc"))
    for p in ["/etc/passwd", "../../../../../../etc/passwd", f"{remote}/../../../../../etc/passwd",
              "/../etc/passwd"]:
        e = expect_ioerror(sftp.open, p)
        assert e.errno == errno.ENOENT, (p, e)
        e = expect_ioerror(sftp.stat, p)
        assert e.errno == errno.ENOENT, (p, e)
    assert set(sftp.listdir("/..")) == set(sftp.listdir("/"))
    assert set(sftp.listdir("../../..")) == set(sftp.listdir("/"))
    # Writing "above" the root lands inside the home (or fails), never outside it.
    name = f"escape-{uuid.uuid4().hex}.txt"
    outside = [os.path.join(os.path.dirname(home), name), os.path.join(os.path.dirname(os.path.dirname(home)), name),
               os.path.join("/", name), os.path.join("/tmp", name)]
    try:
        with sftp.open(f"../../../../{name}", "w") as f:
            f.write(b"x")
        assert os.path.exists(os.path.join(home, name))
        os.unlink(os.path.join(home, name))
    except IOError:
        pass
    for o in outside:
        assert not os.path.exists(o), f"escaped to {o}"


def test_symlinks_on_disk_pointing_outside_are_not_followed(wharf_server, sftp, workdir):
    remote, local_dir = workdir
    os.symlink("/etc", local_dir / "etc_abs")
    os.symlink("/etc/passwd", local_dir / "passwd_abs")
    os.symlink("../../../../../../../../../etc", local_dir / "etc_rel")
    os.symlink("../../../../../../../../../etc/passwd", local_dir / "passwd_rel")
    for link in ("passwd_abs", "passwd_rel"):
        e = expect_ioerror(sftp.open, f"{remote}/{link}")
        assert e.errno in (errno.ENOENT, errno.EACCES), (link, e)
        e = expect_ioerror(sftp.stat, f"{remote}/{link}")
        assert e.errno in (errno.ENOENT, errno.EACCES), (link, e)
    for link in ("etc_abs", "etc_rel"):
        e = expect_ioerror(sftp.open, f"{remote}/{link}/passwd")
        assert e.errno in (errno.ENOENT, errno.EACCES), (link, e)
        try:
            listing = sftp.listdir(f"{remote}/{link}")
        except IOError:
            listing = []
        assert "passwd" not in listing and "shadow" not in listing, (link, listing)
        marker = f"wharf-escape-{uuid.uuid4().hex}"
        expect_ioerror(lambda p: sftp.open(p, "w").close(), f"{remote}/{link}/{marker}")
        assert not os.path.exists(f"/etc/{marker}")
        with pytest.raises(IOError):
            sftp.mkdir(f"{remote}/{link}/{marker}")
        assert not os.path.exists(f"/etc/{marker}")


def test_symlink_requests_cannot_create_an_escape(wharf_server, sftp, workdir):
    remote, local_dir = workdir
    home = os.path.realpath(wharf_server.home)
    for name, target in [("abs_ln", "/etc/passwd"), ("rel_ln", "../../../../../../../../../etc/passwd"),
                         ("dir_ln", "/etc")]:
        try:
            sftp.symlink(target, f"{remote}/{name}")
        except IOError:
            continue  # refusing is fine
        on_disk = os.path.realpath(local_dir / name)
        assert on_disk == home or on_disk.startswith(home + os.sep), \
            f"SYMLINK {target!r} created an on-disk link to {on_disk}"
        try:
            content = sftp.open(f"{remote}/{name}" + ("/passwd" if name == "dir_ln" else "")).read()
        except IOError:
            content = None
        assert content != REAL_PASSWD


# ------------------------------------------------------------ raw packets ----
def test_version_advertises_extensions_and_limits(transport):
    raw = RawSFTP(transport)
    assert raw.init() == 3
    required = {"posix-rename@openssh.com", "statvfs@openssh.com", "fstatvfs@openssh.com",
                "hardlink@openssh.com", "fsync@openssh.com", "lsetstat@openssh.com", "limits@openssh.com",
                "expand-path@openssh.com", "copy-data", "home-directory", "users-groups-by-id@openssh.com",
                "check-file-name", "check-file-handle"}
    assert required <= set(raw.extensions), f"missing: {sorted(required - set(raw.extensions))}"
    t, r = raw.call(FXP_EXTENDED, sstr("limits@openssh.com"))
    assert t == FXP_EXTENDED_REPLY, t
    max_packet, max_read, max_write, max_handles = r.u64(), r.u64(), r.u64(), r.u64()
    assert max_handles >= 1000 or max_handles == 0, max_handles
    assert max_read >= 255 * 1024 and max_write >= 255 * 1024, (max_read, max_write)
    assert max_packet >= max_write
    raw.close()


def test_home_directory_and_expand_path(transport):
    raw = RawSFTP(transport)
    raw.init()
    t, r = raw.call(FXP_EXTENDED, sstr("home-directory") + sstr("alice"))
    assert t == FXP_NAME and r.u32() == 1 and r.string() == b"/"
    t, r = raw.call(FXP_EXTENDED, sstr("expand-path@openssh.com") + sstr("~/sub/../x"))
    assert t == FXP_NAME and r.u32() == 1 and r.string() == b"/x"
    t, r = raw.call(FXP_EXTENDED, sstr("expand-path@openssh.com") + sstr("~"))
    assert t == FXP_NAME and r.u32() == 1 and r.string() == b"/"
    raw.close()


def _parse_check_reply(t, r):
    assert t == FXP_EXTENDED_REPLY, t
    alg = r.string()
    if alg == b"check-file":  # paramiko's form names the extension first
        alg = r.string()
    return alg.decode(), r.rest()


def test_check_file_name_and_handle_and_copy_data(transport, workdir):
    remote, local_dir = workdir
    data = os.urandom(1_000_003)
    (local_dir / "c.bin").write_bytes(data)
    raw = RawSFTP(transport)
    raw.init()
    path = f"{remote}/c.bin"
    for alg in ("md5", "sha1", "sha256", "sha512"):
        t, r = raw.call(FXP_EXTENDED, sstr("check-file-name") + sstr(path) + sstr(alg) + u64(0) + u64(0) + u32(0))
        got_alg, digest = _parse_check_reply(t, r)
        assert got_alg == alg and digest == hashlib.new(alg, data).digest()
    h = raw.open(path)
    t, r = raw.call(FXP_EXTENDED, sstr("check-file-handle") + sstr(h) + sstr("sha256,md5") + u64(10) + u64(1000)
                    + u32(0))
    got_alg, digest = _parse_check_reply(t, r)
    assert got_alg in ("sha256", "md5")
    assert digest == hashlib.new(got_alg, data[10:1010]).digest()
    t, r = raw.call(FXP_EXTENDED, sstr("check-file-handle") + sstr(h) + sstr("sha1") + u64(0) + u64(0)
                    + u32(256 * 1024))
    got_alg, digest = _parse_check_reply(t, r)
    assert digest == b"".join(hashlib.sha1(data[i:i + 256 * 1024]).digest() for i in range(0, len(data), 256 * 1024))
    # copy-data: server-side copy between two handles.
    dst = raw.open(f"{remote}/copy.bin", FXF_WRITE | FXF_CREAT | FXF_TRUNC)
    t, r = raw.call(FXP_EXTENDED, sstr("copy-data") + sstr(h) + u64(0) + u64(0) + sstr(dst) + u64(0))
    assert RawSFTP.status_code(t, r) == FX_OK
    assert raw.close_handle(dst) == FX_OK
    assert raw.close_handle(h) == FX_OK
    assert (local_dir / "copy.bin").read_bytes() == data
    raw.close()


def test_write_data_in_odd_pieces_is_stored_whole(transport, workdir, wharf_server):
    """WRITEs whose bytes reach the server in pieces of every size, each its own SSH channel
    message: the frame handler keeps large pieces as slices of what it read and copies small ones
    (and gathers a WRITE whose head is cut in one buffer). The file must hold exactly what was sent."""
    remote, local_dir = workdir
    rng = random.Random(4)
    content = rng.randbytes(800 * 1024 + 17)
    raw = RawSFTP(transport)
    raw.init()
    h = raw.open(f"{remote}/pieces.bin", FXF_WRITE | FXF_CREAT | FXF_TRUNC)

    def cuts_tiny(n):
        return [7] * (n // 7) + [n % 7]

    def cuts_mixed(n):
        out = []
        while sum(out) < n:
            out.append(rng.choice([1, 3, 100, 4095, 4096, 5000, 16384, 32768, 40000]))
        return out

    def cuts_head(n):
        return [3, 20, n - 23]  # the length, the type and part of the id; the rest of the head, all data

    # (data length, how its framed packet is cut into sends)
    plan = [(20 * 1024, cuts_tiny), (255 * 1024, cuts_mixed), (255 * 1024, cuts_head),
            (255 * 1024, cuts_mixed), (len(content) - (20 + 255 * 3) * 1024, cuts_mixed)]
    offset = 0
    ids = []
    for length, cutter in plan:
        data = content[offset:offset + length]
        rid = raw.next_id
        raw.next_id += 1
        body = bytes([FXP_WRITE]) + u32(rid) + sstr(h) + u64(offset) + sstr(data)
        packet = u32(len(body)) + body
        start = 0
        for size in cutter(len(packet)):
            if start >= len(packet):
                break
            raw.send_raw(packet[start:start + size])
            start += size
        raw.send_raw(packet[start:])
        ids.append(rid)
        offset += length
    for rid in ids:
        t, r = raw.reply(rid)
        assert RawSFTP.status_code(t, r) == FX_OK
    assert raw.close_handle(h) == FX_OK
    raw.close()
    stored = (local_dir / "pieces.bin").read_bytes()
    assert len(stored) == len(content)
    assert hashlib.sha256(stored).hexdigest() == hashlib.sha256(content).hexdigest()
    assert wharf_server.proc.poll() is None, "server died"


def test_unknown_request_type_and_extension(transport, wharf_server):
    raw = RawSFTP(transport)
    raw.init()
    for ptype in (99, 150, 210):
        t, r = raw.call(ptype, b"whatever")
        assert RawSFTP.status_code(t, r) == FX_OP_UNSUPPORTED
    t, r = raw.call(FXP_EXTENDED, sstr("no-such-extension@example.com") + b"\0\0\0\0")
    assert RawSFTP.status_code(t, r) == FX_OP_UNSUPPORTED
    # The session is still fine.
    assert raw.realpath(".") == "/"
    raw.close()


def test_read_on_closed_or_bogus_handle(transport, workdir):
    remote, local_dir = workdir
    (local_dir / "r.txt").write_bytes(b"readable")
    raw = RawSFTP(transport)
    raw.init()
    h = raw.open(f"{remote}/r.txt")
    t, r = raw.call(FXP_READ, sstr(h) + u64(0) + u32(100))
    assert t == FXP_DATA and r.string() == b"readable"
    assert raw.close_handle(h) == FX_OK
    t, r = raw.call(FXP_READ, sstr(h) + u64(0) + u32(100))
    assert RawSFTP.status_code(t, r) in (FX_FAILURE, INVALID_HANDLE)
    t, r = raw.call(FXP_CLOSE, sstr(h))
    assert RawSFTP.status_code(t, r) != FX_OK
    t, r = raw.call(FXP_READ, sstr(b"\xff" * 40) + u64(0) + u32(100))
    assert RawSFTP.status_code(t, r) in (FX_FAILURE, INVALID_HANDLE)
    assert raw.realpath(".") == "/"
    raw.close()


def _closed_or_bad_message(raw, timeout=15):
    """True when the server closed the channel or answered SSH_FX_BAD_MESSAGE."""
    raw.chan.settimeout(timeout)
    try:
        t, body = raw.recv_packet()
    except (EOFError, socket.timeout, OSError):
        return True
    if t == FXP_STATUS:
        r = Reader(body)
        r.u32()
        return r.u32() == FX_BAD_MESSAGE
    return False


def test_packet_length_over_limit(wharf_server):
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    raw.send_raw(u32(0x7FFF_FFF0) + bytes([FXP_OPEN]) + u32(7) + b"\0" * 65536)
    assert _closed_or_bad_message(raw)
    t.close()
    # A length just over 256 KiB + a little, with the bytes actually sent.
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    body = bytes([FXP_OPEN]) + u32(8) + sstr(b"x" * (1024 * 1024)) + u32(FXF_READ) + u32(0)
    try:
        raw.send_raw(u32(len(body)) + body)
    except OSError:
        pass
    assert _closed_or_bad_message(raw)
    t.close()
    assert wharf_server.proc.poll() is None, "server died"
    assert_still_serving(wharf_server)


def test_truncated_packets(wharf_server):
    # A request whose fields run past the end of its packet.
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    raw.send_packet(FXP_OPEN, u32(5) + u32(1000) + b"abc")
    assert _closed_or_bad_message(raw)
    t.close()
    # A packet shorter than its type + id.
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    raw.send_raw(u32(2) + bytes([FXP_OPENDIR]) + b"\x00")
    assert _closed_or_bad_message(raw)
    t.close()
    # Half a packet, then EOF on the channel: the server closes the channel.
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    raw.send_raw(u32(100) + bytes([FXP_OPENDIR]) + u32(9) + b"\0\0")
    raw.chan.shutdown_write()
    raw.chan.settimeout(15)
    with pytest.raises((EOFError, socket.timeout, OSError)):
        raw.recv_packet()
    assert raw.chan.exit_status_ready() or raw.chan.closed or raw.chan.eof_received
    t.close()
    # Zero-length packet.
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.init()
    raw.send_raw(u32(0))
    assert _closed_or_bad_message(raw)
    t.close()
    assert wharf_server.proc.poll() is None, "server died"
    assert_still_serving(wharf_server)


def test_init_twice_or_request_before_init(wharf_server):
    t = paramiko_transport(wharf_server)
    raw = RawSFTP(t)
    raw.send_packet(FXP_OPENDIR, u32(1) + sstr("/"))
    assert _closed_or_bad_message(raw)
    t.close()
    assert wharf_server.proc.poll() is None
    assert_still_serving(wharf_server)


def test_thousand_handles_then_drop_releases_descriptors(make_server):
    srv = make_server()
    home = srv.home
    with open(os.path.join(home, "h.txt"), "wb") as f:
        f.write(b"handle")
    os.mkdir(os.path.join(home, "d"))
    # Let the server settle, then take the baseline.
    assert_still_serving(srv)
    time.sleep(1)
    baseline = count_fds(srv.pid)
    t = paramiko_transport(srv)
    raw = RawSFTP(t)
    raw.init()
    ids = [raw.request(FXP_OPEN, sstr("/h.txt") + u32(FXF_READ) + u32(0)) for _ in range(900)]
    ids += [raw.request(FXP_OPENDIR, sstr("/d")) for _ in range(100)]
    handles = []
    for rid in ids:
        ty, r = raw.reply()
        assert ty == FXP_HANDLE, f"OPEN/OPENDIR #{len(handles)} answered with type {ty}"
        handles.append(r.string())
    assert len(set(handles)) == 1000
    # Read from every file handle so it is really in use.
    rids = [raw.request(FXP_READ, sstr(h) + u64(0) + u32(6)) for h in handles[:900]]
    for _ in rids:
        ty, r = raw.reply()
        assert ty == FXP_DATA and r.string() == b"handle"
    during = count_fds(srv.pid)
    # Drop the connection without closing anything.
    t.sock.shutdown(socket.SHUT_RDWR)
    t.close()
    settled = wait_until(lambda: count_fds(srv.pid) <= baseline, 10)
    after = count_fds(srv.pid)
    assert settled, f"descriptors: baseline {baseline}, with 1000 handles {during}, 10 s after drop {after}"
    assert srv.proc.poll() is None
    assert_still_serving(srv)
