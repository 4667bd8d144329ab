"""`wharf user` changes made while `wharf serve` runs apply to the very next login.

The server keeps the user records of recent logins in memory while users.sqlite is unchanged
(an inotify watch on the file and its directory); these tests make the change with the real
command line and log in at once, many times in a row, so that a stale record would show."""

import ftplib
import os
import shutil
import subprocess

import paramiko
import pytest

from helpers import run

NEW_PASSWORD = "a-new-secret-pw"


@pytest.fixture
def server(make_server):
    srv = make_server(login_failure_delay="0", log_level="info")
    assert "user records are cached between changes to" in srv.log(), srv.log()[-3000:]
    return srv


def user_command(srv, *args, password=None):
    p = run([srv.bin, "user", *args, "--data-dir", srv.data_dir],
            input=(password + "\n").encode() if password is not None else None, timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")


def ftp_login(srv, user, password):
    """True if the FTP login succeeds, False on 530."""
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", srv.ftp_port, timeout=30)
        try:
            ftp.login(user, password)
        except ftplib.error_perm as e:
            assert str(e).startswith("530"), e
            return False
        return True


def sftp_key_login(srv, key_path):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    try:
        t.start_client(timeout=30)
        try:
            t.auth_publickey(srv.user, paramiko.Ed25519Key.from_private_key_file(key_path))
        except paramiko.AuthenticationException:
            return False
        return t.is_authenticated()
    finally:
        t.close()


def test_password_change_applies_to_the_next_login(server):
    old, new = server.password, NEW_PASSWORD
    for _ in range(8):
        assert ftp_login(server, "alice", old) and ftp_login(server, "alice", old)  # remembered now
        user_command(server, "passwd", "alice", "--password-stdin", password=new)
        assert not ftp_login(server, "alice", old), "the old password still worked after wharf user passwd"
        assert ftp_login(server, "alice", new)
        old, new = new, old


def test_removed_user_is_refused_and_a_new_one_admitted_at_once(server):
    assert ftp_login(server, "alice", server.password) and ftp_login(server, "alice", server.password)
    assert not ftp_login(server, "bob", "bob-password-1")  # an unknown name is remembered too
    user_command(server, "remove", "alice")
    assert not ftp_login(server, "alice", server.password), "a removed user could still log in"
    user_command(server, "add", "bob", "--password-stdin", password="bob-password-1")
    assert ftp_login(server, "bob", "bob-password-1"), "a user added while the server runs was refused"
    user_command(server, "add", "alice", "--password-stdin", password=NEW_PASSWORD)
    assert not ftp_login(server, "alice", server.password)
    assert ftp_login(server, "alice", NEW_PASSWORD)


def test_removed_key_is_refused_at_once(server):
    assert sftp_key_login(server, server.key) and sftp_key_login(server, server.key)
    with open(server.key + ".pub") as f:
        public_key = f.read().strip()
    user_command(server, "update", "alice", "--remove-key", public_key)
    assert not sftp_key_login(server, server.key), "a removed key still logged in"
    user_command(server, "update", "alice", "--add-key", public_key)
    assert sftp_key_login(server, server.key)


def test_database_replaced_by_a_copy_is_read(server, tmp_path):
    """Restoring users.sqlite from a backup (cp over it, same inode) takes effect at once."""
    backup = tmp_path / "users-backup.sqlite"
    db = server.data_dir + "/users.sqlite"
    subprocess.run(["cp", db, str(backup)], check=True)
    assert ftp_login(server, "alice", server.password) and ftp_login(server, "alice", server.password)
    user_command(server, "passwd", "alice", "--password-stdin", password=NEW_PASSWORD)
    assert ftp_login(server, "alice", NEW_PASSWORD) and ftp_login(server, "alice", NEW_PASSWORD)
    subprocess.run(["cp", str(backup), db], check=True)
    assert ftp_login(server, "alice", server.password), "the restored password was refused"
    assert not ftp_login(server, "alice", NEW_PASSWORD), "the password from before the restore still worked"


def ftp_names_and_read(srv, user, password, name):
    """The home's names, and the contents of `name` in it (None if it cannot be read)."""
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", srv.ftp_port, timeout=30)
        ftp.login(user, password)
        names = sorted(ftp.nlst())
        chunks = []
        try:
            ftp.retrbinary(f"RETR {name}", chunks.append)
        except ftplib.error_perm:
            return names, None
        return names, b"".join(chunks)


def test_home_removed_or_replaced_while_serving(server, tmp_path):
    """A login answered from the caches (user, password, home lookup) still sees the home as it
    is now: made again when removed, the new directory when another took its place, even while
    a session opened before the change keeps the old one's root (and its open jail) alive."""
    home = server.home
    with open(f"{home}/kept", "w") as f:
        f.write("kept")
    for _ in range(3):
        assert ftp_names_and_read(server, "alice", server.password, "kept") == (["kept"], b"kept")
    shutil.rmtree(home)
    assert ftp_names_and_read(server, "alice", server.password, "kept") == ([], None), "the home was not made again"
    with open(f"{home}/old", "w") as f:
        f.write("old")
    with open(f"{home}/new", "w") as f:
        f.write("stale")
    with ftplib.FTP() as holder:
        holder.connect("127.0.0.1", server.ftp_port, timeout=30)
        holder.login("alice", server.password)
        chunks = []
        holder.retrbinary("RETR old", chunks.append)  # opens the shared root's jail
        assert b"".join(chunks) == b"old"
        os.rename(home, str(tmp_path / "old-home"))
        os.mkdir(home)
        with open(f"{home}/new", "w") as f:
            f.write("new")
        for _ in range(3):
            # A stale root would open "new" below the old directory (its jail): "stale".
            assert ftp_names_and_read(server, "alice", server.password, "new") == (["new"], b"new")
        holder.voidcmd("NOOP")
