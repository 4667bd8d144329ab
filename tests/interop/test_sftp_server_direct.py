"""`wharf sftp-server` as OpenSSH's drop-in: `sftp -D` (stdio, no SSH) and as sshd's subsystem."""

import errno
import os
import socket
import stat
import struct
import subprocess
import time

import paramiko

import pytest

from helpers import (PUT_MAX_BUF, SSH_OPTS, assert_ok, read_bytes, run, sftp_direct_batch,
                     write_random)


@pytest.fixture
def area(tmp_path):
    d = tmp_path / "area"
    d.mkdir()
    return d


@pytest.mark.parametrize("buf", [5, 1000, 32768, 262144])
@pytest.mark.parametrize("reqs", [1, 16, 64])
def test_get_put_buffer_sizes_and_requests(sftp_server_wrapper, area, tmp_path, buf, reqs):
    # Small buffers mean many round trips: keep the file small for -B 5.
    size = 40_000 + 3 if buf == 5 else 3 * 1024 * 1024 + 11
    data = write_random(area / "src.bin", size)
    w = sftp_server_wrapper("-d", str(area))
    p = sftp_direct_batch(w, ["get src.bin got.bin"], tmp_path, extra=["-B", str(buf), "-R", str(reqs)])
    assert_ok(p, "get")
    assert read_bytes(tmp_path / "got.bin") == data
    # OpenSSH's client cannot send a WRITE over 256 KiB: -B 262144 uploads with its maximum.
    pbuf = min(buf, PUT_MAX_BUF)
    p = sftp_direct_batch(w, ["put got.bin put.bin"], tmp_path, extra=["-B", str(pbuf), "-R", str(reqs)])
    assert_ok(p, "put")
    assert read_bytes(area / "put.bin") == data


def test_start_directory_and_full_command_set(sftp_server_wrapper, area, tmp_path):
    (area / "a b.txt").write_bytes(b"spaces")
    (area / "br[ack]et").write_bytes(b"brackets")
    (area / "it's").write_bytes(b"quote")
    full = write_random(tmp_path / "full.bin", 600_001)
    (area / "full.bin").write_bytes(full[:100_000])
    remote_full = write_random(area / "rfull.bin", 500_000)
    (tmp_path / "rfull.bin").write_bytes(remote_full[:1234])
    tree = tmp_path / "tree"
    (tree / "x" / "y").mkdir(parents=True)
    (tree / "x" / "y" / "z").write_bytes(b"deep")
    w = sftp_server_wrapper("-d", str(area))
    p = sftp_direct_batch(w, [
        "pwd",
        "ls -1",
        r"ls -1 br\[ack\]et *b.txt it*",
        "ls -l",
        'get "a b.txt" l1',
        r"get br\[ack\]et l2",
        "get \"it's\" l3",
        "reput full.bin",
        "reget rfull.bin",
        "put -r tree",
        "get -r tree tree.back",
        "rename \"a b.txt\" renamed",
        "ln renamed hard",
        "ln -s renamed soft",
        "chmod 640 renamed",
        "chgrp 4321 hard",
        "chgrp -h 2468 soft",
        "put -f full.bin synced.bin",
        "chown 1234 hard",
        "mkdir d1",
        "mkdir d2",
        "rmdir d2",
        "rm \"it's\"",
        "df -h",
        "-rm does-not-exist",
    ], tmp_path)
    assert_ok(p)
    assert f"Remote working directory: {area}" in p.stdout
    assert "br[ack]et" in p.stdout and "a b.txt" in p.stdout
    assert (tmp_path / "l1").read_bytes() == b"spaces"
    assert (tmp_path / "l2").read_bytes() == b"brackets"
    assert (tmp_path / "l3").read_bytes() == b"quote"
    assert read_bytes(area / "full.bin") == full
    assert read_bytes(tmp_path / "rfull.bin") == remote_full
    assert (area / "tree" / "x" / "y" / "z").read_bytes() == b"deep"
    assert (tmp_path / "tree.back" / "x" / "y" / "z").read_bytes() == b"deep"
    assert (area / "renamed").read_bytes() == b"spaces"
    assert os.stat(area / "hard").st_ino == os.stat(area / "renamed").st_ino
    assert os.readlink(area / "soft") == "renamed"
    assert stat.S_IMODE(os.stat(area / "renamed").st_mode) == 0o640
    assert os.stat(area / "hard").st_gid == 4321  # running as root: chgrp is permitted
    assert os.stat(area / "hard").st_uid == 1234
    assert os.lstat(area / "soft").st_gid == 2468  # lsetstat: the link, not its target
    assert os.stat(area / "renamed").st_gid == 4321
    assert read_bytes(area / "synced.bin") == full
    assert (area / "d1").is_dir() and not (area / "d2").exists()
    assert not (area / "it's").exists()
    assert "Avail" in p.stdout


def test_batch_failure_stops(sftp_server_wrapper, area, tmp_path):
    (tmp_path / "x").write_bytes(b"x")
    (tmp_path / "y").write_bytes(b"y")
    w = sftp_server_wrapper("-d", str(area))
    p = sftp_direct_batch(w, ["put y"], tmp_path)
    assert_ok(p)
    assert (area / "y").read_bytes() == b"y"
    p = sftp_direct_batch(w, ["rm nope", "put x"], tmp_path)
    assert p.returncode != 0
    assert not (area / "x").exists()
    p = sftp_direct_batch(w, ["-rm nope", "put x"], tmp_path)
    assert_ok(p)
    assert (area / "x").read_bytes() == b"x"


def test_no_jail_in_direct_mode(sftp_server_wrapper, area, tmp_path):
    """Like OpenSSH's sftp-server, the drop-in serves the invoking user's filesystem."""
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"outside the start dir")
    w = sftp_server_wrapper("-d", str(area))
    p = sftp_direct_batch(w, [f"get {outside} o1", "get ../outside.txt o2", "cd /", "pwd"], tmp_path)
    assert_ok(p)
    assert (tmp_path / "o1").read_bytes() == b"outside the start dir"
    assert (tmp_path / "o2").read_bytes() == b"outside the start dir"
    assert "Remote working directory: /\n" in p.stdout


def test_read_only_refuses_writes(sftp_server_wrapper, area, tmp_path):
    (area / "ro.txt").write_bytes(b"read only")
    (tmp_path / "up").write_bytes(b"up")
    w = sftp_server_wrapper("-R", "-d", str(area))
    p = sftp_direct_batch(w, ["get ro.txt ro.local", "ls -l"], tmp_path)
    assert_ok(p, "reads in read-only mode")
    assert (tmp_path / "ro.local").read_bytes() == b"read only"
    for cmd in ["put up", "rm ro.txt", "mkdir d", "rename ro.txt r2", "chmod 600 ro.txt", "ln -s ro.txt s"]:
        p = sftp_direct_batch(w, [cmd], tmp_path)
        assert p.returncode != 0, f"{cmd!r} must fail with -R"
    assert sorted(os.listdir(area)) == ["ro.txt"]
    assert stat.S_IMODE(os.stat(area / "ro.txt").st_mode) != 0o600
    assert (area / "ro.txt").read_bytes() == b"read only"


def test_query_requests(sftp_server_argv):
    p = run([*sftp_server_argv, "-Q", "requests"], timeout=60)
    assert p.returncode == 0, p.stderr
    names = set(p.stdout.decode().split())
    expected = {"open", "close", "read", "write", "lstat", "fstat", "setstat", "fsetstat", "opendir",
                "readdir", "remove", "mkdir", "rmdir", "realpath", "stat", "rename", "readlink", "symlink",
                "posix-rename", "statvfs", "fstatvfs", "hardlink", "fsync", "lsetstat", "limits",
                "expand-path", "copy-data", "home-directory", "users-groups-by-id"}
    assert expected <= names, f"missing: {sorted(expected - names)}"
    p = run([*sftp_server_argv, "-Q", "nonsense"], timeout=60)
    assert p.returncode != 0


@pytest.mark.parametrize("stdin", ["devnull", "file"])
def test_stdin_that_is_no_pipe_is_a_clear_error(sftp_server_argv, tmp_path, stdin):
    """Started by hand with a file or /dev/null as input: a one-line error and exit 1, not a crash
    (epoll cannot watch these)."""
    path = os.devnull if stdin == "devnull" else str(tmp_path / "input")
    if stdin == "file":
        (tmp_path / "input").write_bytes(b"\x00\x00\x00\x05\x01\x00\x00\x00\x03")
    with open(path, "rb") as source:
        p = subprocess.run(sftp_server_argv, stdin=source, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
    assert p.returncode == 1, (p.returncode, p.stderr)
    err = p.stderr.decode()
    assert "standard input is not a pipe, socket or terminal" in err and "Fatal error" not in err, err


def test_deny_and_allow_lists(sftp_server_wrapper, area, tmp_path):
    (area / "f.txt").write_bytes(b"f")
    (tmp_path / "u").write_bytes(b"u")
    w = sftp_server_wrapper("-P", "remove,mkdir", "-d", str(area))
    p = sftp_direct_batch(w, ["rm f.txt"], tmp_path)
    assert p.returncode != 0
    p = sftp_direct_batch(w, ["mkdir nd"], tmp_path)
    assert p.returncode != 0
    p = sftp_direct_batch(w, ["put u", "get f.txt f.local"], tmp_path)
    assert_ok(p, "requests not denied")
    assert (area / "f.txt").exists() and not (area / "nd").exists() and (area / "u").exists()
    # Allow list: only what's named works (plus what a client needs to start).
    w = sftp_server_wrapper("-p", "open,close,read,realpath,stat,lstat,fstat,opendir,readdir", "-d", str(area))
    p = sftp_direct_batch(w, ["get f.txt f2.local", "ls"], tmp_path)
    assert_ok(p, "allowed requests")
    assert (tmp_path / "f2.local").read_bytes() == b"f"
    p = sftp_direct_batch(w, ["mkdir nd2"], tmp_path)
    assert p.returncode != 0
    p = sftp_direct_batch(w, ["rm u"], tmp_path)
    assert p.returncode != 0
    assert not (area / "nd2").exists() and (area / "u").exists()


def test_umask_flag(sftp_server_wrapper, area, tmp_path):
    (tmp_path / "m").write_bytes(b"m")
    os.chmod(tmp_path / "m", 0o666)
    w = sftp_server_wrapper("-u", "077", "-e", "-l", "DEBUG3", "-f", "LOCAL0", "-d", str(area))
    p = sftp_direct_batch(w, ["put m", "mkdir md"], tmp_path)
    assert_ok(p)
    assert stat.S_IMODE(os.stat(area / "m").st_mode) & 0o077 == 0
    assert stat.S_IMODE(os.stat(area / "md").st_mode) & 0o077 == 0


def test_scp_through_sshd_subsystem(make_sshd, sftp_server_argv, tmp_path):
    d = make_sshd(" ".join(sftp_server_argv))
    area = tmp_path / "via-sshd"
    area.mkdir()
    data = write_random(tmp_path / "s.bin", 2_000_001)
    p = run(["scp", *SSH_OPTS, "-i", d.key, "-P", str(d.port), str(tmp_path / "s.bin"),
             f"root@127.0.0.1:{area}/s.bin"], timeout=300)
    assert p.returncode == 0, p.stderr
    assert read_bytes(area / "s.bin") == data


def test_as_sshd_subsystem(make_sshd, sftp_server_argv, tmp_path):
    d = make_sshd(" ".join(sftp_server_argv) + " -l INFO")
    area = tmp_path / "via-sshd"
    area.mkdir()
    data = write_random(area / "remote.bin", 5 * 1024 * 1024 + 3)
    up = write_random(tmp_path / "up.bin", 4 * 1024 * 1024 + 7)
    # OpenSSH's client cannot send a WRITE over 256 KiB, so -B 262144 is tested on downloads only.
    for buf, reqs, upload in ((None, None, True), (1000, 1, True), (PUT_MAX_BUF, 64, True), (262144, 64, False)):
        extra = (["-B", str(buf)] if buf else []) + (["-R", str(reqs)] if reqs else [])
        cmds = f"cd {area}\nget remote.bin got.bin\nls -l\n"
        if upload:
            cmds += "put up.bin up.bin\nrename up.bin up2.bin\n"
        p = run(["sftp", *SSH_OPTS, "-i", d.key, "-P", str(d.port), *extra, "-b", "-", "root@127.0.0.1"],
                timeout=120, cwd=str(tmp_path), input=cmds.encode())
        assert p.returncode == 0, f"{extra}: " + p.stderr.decode() + d.log()[-3000:]
        assert read_bytes(tmp_path / "got.bin") == data, extra
        os.unlink(tmp_path / "got.bin")
        if upload:
            assert read_bytes(area / "up2.bin") == up, extra
            os.unlink(area / "up2.bin")


def _paramiko_over_stdio(argv):
    """paramiko's SFTPClient talking to a stdio sftp-server through a socketpair."""
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(argv, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.DEVNULL)
    theirs.close()
    ours.settimeout(60)

    class Pipe:
        def get_name(self):
            return "stdio"

        def send(self, data):
            return ours.send(data)

        def recv(self, n):
            return ours.recv(n)

        def close(self):
            ours.close()

    return paramiko.SFTPClient(Pipe()), proc, ours


def test_read_only_errors_map_to_permission_error(sftp_server_argv, area):
    (area / "f.txt").write_bytes(b"data")
    client, proc, sock = _paramiko_over_stdio([*sftp_server_argv, "-R", "-d", str(area)])
    try:
        assert client.open(str(area / "f.txt")).read() == b"data"
        for fn, args in [(client.open, (str(area / "new.txt"), "w")), (client.mkdir, (str(area / "d"),)),
                         (client.remove, (str(area / "f.txt"),)),
                         (client.rename, (str(area / "f.txt"), str(area / "g.txt"))),
                         (client.chmod, (str(area / "f.txt"), 0o600))]:
            with pytest.raises(PermissionError) as ei:
                fn(*args)
            assert ei.value.errno == errno.EACCES, (fn, args)
        with pytest.raises(FileNotFoundError):
            client.stat(str(area / "missing"))
    finally:
        client.close()
        sock.close()
        proc.wait(timeout=10)
    assert sorted(os.listdir(area)) == ["f.txt"]
    assert proc.returncode == 0


def test_paramiko_over_stdio_roundtrip(sftp_server_argv, area, tmp_path):
    data = write_random(tmp_path / "x.bin", 2_000_003)
    client, proc, sock = _paramiko_over_stdio([*sftp_server_argv, "-d", str(area)])
    try:
        client.put(str(tmp_path / "x.bin"), str(area / "x.bin"))
        assert read_bytes(area / "x.bin") == data
        client.get(str(area / "x.bin"), str(tmp_path / "y.bin"))
        assert read_bytes(tmp_path / "y.bin") == data
        assert client.normalize(".") == str(area)
        st = client.stat(str(area / "x.bin"))
        assert st.st_size == len(data)
    finally:
        client.close()
        sock.close()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def _packet(kind, body):
    return struct.pack(">IB", len(body) + 1, kind) + body


def _read_packet(stream):
    head = stream.read(5)
    length, kind = struct.unpack(">IB", head)
    return kind, stream.read(length - 1)


def test_client_gone_during_a_download_ends_the_server(sftp_server_argv, area):
    """Replies go to sshd's pipe with blocking writes: a reader that stops reading and then goes
    away must end the server (EPIPE), not leave it asleep in a write."""
    big = area / "big.bin"
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    p = subprocess.Popen(sftp_server_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL)
    try:
        p.stdin.write(_packet(1, struct.pack(">I", 3)))  # INIT v3
        p.stdin.flush()
        assert _read_packet(p.stdout)[0] == 2  # VERSION
        name = str(big).encode()
        p.stdin.write(_packet(3, struct.pack(">II", 1, len(name)) + name + struct.pack(">II", 1, 0)))  # OPEN read
        p.stdin.flush()
        kind, body = _read_packet(p.stdout)
        assert kind == 102, (kind, body)  # HANDLE
        (handle_length,) = struct.unpack(">I", body[4:8])
        handle = body[8:8 + handle_length]
        for request in range(64):  # 16 MiB asked for, far more than the pipe holds; none read
            p.stdin.write(_packet(5, struct.pack(">II", 100 + request, len(handle)) + handle
                                  + struct.pack(">QI", request * 262144, 262144)))
        p.stdin.flush()
        time.sleep(1)
        assert p.poll() is None, "the server ended before its reader went away"
        p.stdout.close()  # the reader goes away; the server is blocked writing to a full pipe
        p.stdin.close()
        assert p.wait(timeout=20) is not None
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
