"""paramiko's SFTPClient against `wharf serve`: transfers, metadata, errors, check-file, auth."""

import errno
import hashlib
import os
import stat

import paramiko
import pytest

from conftest import paramiko_transport
from helpers import sha256_file, write_random


def test_put_get_64mib_sha256(sftp, workdir, tmp_path):
    remote, local_dir = workdir
    src = tmp_path / "big.bin"
    with open(src, "wb") as f:
        for _ in range(64):
            f.write(os.urandom(1 << 20))
    digest = sha256_file(src)
    attrs = sftp.put(str(src), f"{remote}/big.bin")
    assert attrs.st_size == 64 * 1024 * 1024
    assert sha256_file(local_dir / "big.bin") == digest
    sftp.get(f"{remote}/big.bin", str(tmp_path / "big.back"))
    assert sha256_file(tmp_path / "big.back") == digest


def test_listdir_5000_entries(sftp, workdir):
    remote, local_dir = workdir
    names = {f"entry-{i:05d}.txt" for i in range(5000)}
    for n in names:
        (local_dir / n).write_bytes(b"")
    listed = sftp.listdir(remote)
    assert len(listed) == 5000
    assert set(listed) == names
    attrs = sftp.listdir_attr(remote)
    assert len(attrs) == 5000 and all(a.st_size == 0 for a in attrs)
    assert all(a.longname and a.longname.startswith("-") for a in attrs)


def test_stat_lstat_chmod_utime_truncate(sftp, workdir):
    remote, local_dir = workdir
    with sftp.open(f"{remote}/f.txt", "w") as f:
        f.write(b"0123456789")
    os.symlink("f.txt", local_dir / "ln")
    st = sftp.stat(f"{remote}/f.txt")
    assert st.st_size == 10 and stat.S_ISREG(st.st_mode)
    assert stat.S_ISREG(sftp.stat(f"{remote}/ln").st_mode)
    assert stat.S_ISLNK(sftp.lstat(f"{remote}/ln").st_mode)
    assert stat.S_ISDIR(sftp.stat(remote).st_mode)
    sftp.chmod(f"{remote}/f.txt", 0o604)
    assert stat.S_IMODE(os.stat(local_dir / "f.txt").st_mode) == 0o604
    assert stat.S_IMODE(sftp.stat(f"{remote}/f.txt").st_mode) == 0o604
    sftp.utime(f"{remote}/f.txt", (1_234_567_890, 1_111_111_111))
    st = os.stat(local_dir / "f.txt")
    assert (int(st.st_atime), int(st.st_mtime)) == (1_234_567_890, 1_111_111_111)
    assert sftp.stat(f"{remote}/f.txt").st_mtime == 1_111_111_111
    sftp.truncate(f"{remote}/f.txt", 4)
    assert (local_dir / "f.txt").read_bytes() == b"0123"
    sftp.truncate(f"{remote}/f.txt", 6)
    assert (local_dir / "f.txt").read_bytes() == b"0123\0\0"
    with sftp.open(f"{remote}/f.txt", "r+") as f:
        f.truncate(2)
        f.chmod(0o600)
        assert f.stat().st_size == 2
    assert (local_dir / "f.txt").read_bytes() == b"01"
    assert stat.S_IMODE(os.stat(local_dir / "f.txt").st_mode) == 0o600


def test_open_modes_append_excl_seek(sftp, workdir):
    remote, local_dir = workdir
    p = f"{remote}/modes.txt"
    with sftp.open(p, "w") as f:
        f.write(b"hello")
    with sftp.open(p, "a") as f:
        f.write(b" world")
    assert (local_dir / "modes.txt").read_bytes() == b"hello world"
    with pytest.raises(IOError):
        sftp.open(p, "x")
    with sftp.open(p, "rb") as f:
        f.seek(6)
        assert f.read(5) == b"world"
        f.seek(0)
        assert f.readline() == b"hello world"
    with sftp.open(p, "r+") as f:
        f.seek(0)
        f.write(b"J")
    assert (local_dir / "modes.txt").read_bytes() == b"Jello world"
    with sftp.open(p, "w") as f:
        pass
    assert (local_dir / "modes.txt").read_bytes() == b""


def test_rename_posix_rename_symlink_readlink_remove_mkdir_rmdir(sftp, workdir):
    remote, local_dir = workdir
    for n in ("a", "b", "c"):
        (local_dir / n).write_bytes(n.encode())
    sftp.rename(f"{remote}/a", f"{remote}/a2")
    assert (local_dir / "a2").read_bytes() == b"a" and not (local_dir / "a").exists()
    # SFTP v3 RENAME fails when the target exists.
    with pytest.raises(IOError):
        sftp.rename(f"{remote}/a2", f"{remote}/b")
    assert (local_dir / "b").read_bytes() == b"b"
    sftp.posix_rename(f"{remote}/a2", f"{remote}/b")
    assert (local_dir / "b").read_bytes() == b"a" and not (local_dir / "a2").exists()
    sftp.symlink("c", f"{remote}/sym")
    assert os.path.islink(local_dir / "sym")
    assert sftp.readlink(f"{remote}/sym") == "c"
    assert sftp.open(f"{remote}/sym").read() == b"c"
    sftp.remove(f"{remote}/sym")
    assert not os.path.lexists(local_dir / "sym") and (local_dir / "c").exists()
    sftp.mkdir(f"{remote}/d", 0o700)
    assert (local_dir / "d").is_dir()
    assert stat.S_IMODE(os.stat(local_dir / "d").st_mode) == 0o700
    sftp.rmdir(f"{remote}/d")
    assert not (local_dir / "d").exists()
    sftp.remove(f"{remote}/c")
    assert not (local_dir / "c").exists()
    assert sftp.normalize(f"{remote}/../.{remote}/.") == remote


def test_errors_map_to_exceptions(sftp, workdir):
    remote, local_dir = workdir
    (local_dir / "file").write_bytes(b"f")
    (local_dir / "dir").mkdir()
    (local_dir / "dir" / "x").write_bytes(b"x")

    def expect(exc_type, code, fn, *a):
        with pytest.raises(exc_type) as ei:
            fn(*a)
        if code is not None:
            assert ei.value.errno == code, (fn, a, ei.value)
        return ei.value

    expect(FileNotFoundError, errno.ENOENT, sftp.stat, f"{remote}/missing")
    expect(FileNotFoundError, errno.ENOENT, sftp.open, f"{remote}/missing")
    expect(FileNotFoundError, errno.ENOENT, sftp.listdir, f"{remote}/missing")
    expect(FileNotFoundError, errno.ENOENT, sftp.remove, f"{remote}/missing")
    expect(FileNotFoundError, errno.ENOENT, sftp.open, f"{remote}/no/such/dir/f", "w")
    expect(FileNotFoundError, errno.ENOENT, sftp.rename, f"{remote}/missing", f"{remote}/m2")
    # SSH_FX_FAILURE → plain IOError (not a FileNotFoundError / PermissionError)
    for fn, args in [(sftp.rmdir, (f"{remote}/dir",)), (sftp.mkdir, (f"{remote}/dir",)),
                     (sftp.remove, (f"{remote}/dir",))]:
        e = expect(IOError, None, fn, *args)
        assert not isinstance(e, (FileNotFoundError, PermissionError)), (fn, args, e)
    # Like OpenSSH's server (ENOTDIR → SSH_FX_NO_SUCH_FILE): listing a file fails.
    expect(IOError, None, sftp.listdir, f"{remote}/file")
    # An existing file opened with O_EXCL fails, but not as "no such file".
    e = expect(IOError, None, sftp.open, f"{remote}/file", "x")
    assert not isinstance(e, FileNotFoundError)
    assert (local_dir / "dir" / "x").exists() and (local_dir / "file").exists()


def test_check_file_hashes_equal_hashlib(sftp, workdir):
    remote, local_dir = workdir
    data = write_random(local_dir / "h.bin", 3 * 1024 * 1024 + 321)
    with sftp.open(f"{remote}/h.bin") as f:
        for alg in ("md5", "sha1", "sha256", "sha512"):
            assert f.check(alg) == hashlib.new(alg, data).digest(), alg
        # A range.
        assert f.check("sha256", 1000, 5000) == hashlib.sha256(data[1000:6000]).digest()
        # Blocks: one hash per block, concatenated.
        blocks = b"".join(hashlib.sha1(data[i:i + (1 << 20)]).digest() for i in range(0, len(data), 1 << 20))
        assert f.check("sha1", 0, 0, 1 << 20) == blocks


def test_key_auth_and_password_auth(wharf_server):
    t = paramiko_transport(wharf_server)  # key
    assert t.is_authenticated()
    c = paramiko.SFTPClient.from_transport(t)
    assert c.normalize(".") == "/"
    t.close()
    t = paramiko_transport(wharf_server, password=wharf_server.password)
    assert t.is_authenticated()
    c = paramiko.SFTPClient.from_transport(t)
    assert c.normalize(".") == "/"
    t.close()
    # SSHClient with a password, as a user would write it.
    cl = paramiko.SSHClient()
    cl.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    cl.connect("127.0.0.1", port=wharf_server.port, username="alice", password=wharf_server.password,
               look_for_keys=False, allow_agent=False, timeout=30)
    assert cl.open_sftp().listdir("/") is not None
    cl.close()


def test_bad_password_and_unknown_key_fail(wharf_server, tmp_path):
    cl = paramiko.SSHClient()
    cl.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    with pytest.raises(paramiko.AuthenticationException):
        cl.connect("127.0.0.1", port=wharf_server.port, username="alice", password="wrong-password",
                   look_for_keys=False, allow_agent=False, timeout=30)
    cl.close()
    other = paramiko.Ed25519Key.from_private_key_file(
        __import__("conftest").keygen(tmp_path / "other_key"))
    t = paramiko.Transport(("127.0.0.1", wharf_server.port))
    t.start_client(timeout=30)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_publickey("alice", other)
    t.close()
    t = paramiko.Transport(("127.0.0.1", wharf_server.port))
    t.start_client(timeout=30)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("nobody-such-user", "whatever")
    t.close()
