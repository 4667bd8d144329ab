"""TLS details of Wharf's FTP server that generic clients do not exercise: plaintext injected
after AUTH TLS, data connections resuming the control connection's TLS session, and uploads that
fail over an existing file."""

import os
import socket
import ssl
import threading
import time

from ftp_fixtures import (MiB, _pyftpdlib_main, ftp_target, ftp_workdir, parse_pasv,  # noqa: F401
                          quit_quietly, recv_all, wharf_only)
from helpers import wait_until


def _context(target):
    ctx = target.ssl_context(verify=False)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@wharf_only
def test_plaintext_sent_after_auth_tls_is_not_run_over_tls(ftp_target):
    """CVE-2011-0411 class: a line squeezed in right behind AUTH TLS, before the handshake, must be
    dropped, not executed as if the client had sent it over TLS."""
    raw = ftp_target.raw()
    raw.greeting()
    # One segment: AUTH TLS and an injected USER line. The server answers 234 to AUTH TLS only.
    raw.sock.sendall(b"AUTH TLS\r\nUSER " + ftp_target.user.encode() + b"\r\n")
    code, text = raw.reply()
    assert code == 234, text
    raw.sock = _context(ftp_target).wrap_socket(raw.sock, server_hostname=ftp_target.host)
    # Had the injected USER run, PASS alone would log in (230). It must be a bad sequence.
    code, text = raw.cmd(f"PASS {ftp_target.password}")
    assert code == 503, f"injected USER was executed: {text}"
    raw.login(ftp_target.user, ftp_target.password)
    assert "plaintext" in ftp_target.log().lower()
    raw.close()


@wharf_only
def test_tls_data_connection_resumes_the_control_session(ftp_target, ftp_workdir):
    """One TLS context for control and data: a client offering the control session on the data
    connection gets it resumed (what vsftpd-style clients and lftp rely on)."""
    remote, local = ftp_workdir
    (local / "r.bin").write_bytes(os.urandom(100_000))
    ctx = _context(ftp_target)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # Python exposes session reuse for TLS 1.2 reliably.
    raw = ftp_target.raw()
    raw.greeting()
    raw.auth_tls(ctx)
    raw.login(ftp_target.user, ftp_target.password)
    raw.expect("PBSZ 0", 200)
    raw.expect("PROT P", 200)
    raw.expect("TYPE I", 200)
    _, port = parse_pasv(raw.expect("PASV", 227))
    s = socket.create_connection((ftp_target.host, port), 10)
    raw.send(f"RETR {remote}/r.bin")
    d = ctx.wrap_socket(s, server_hostname=ftp_target.host, session=raw.sock.session)
    assert d.session_reused, "the data connection did not resume the control connection's TLS session"
    data = recv_all(d)
    code, text = raw.reply()
    if code in (125, 150):
        code, text = raw.reply()
    assert code == 226, text
    assert data == (local / "r.bin").read_bytes()
    raw.close()


@wharf_only
def test_failed_upload_over_an_existing_file_keeps_the_old_one(ftp_target, ftp_workdir):
    """STOR goes to a temporary name: cut off mid-way, the previous version stays whole."""
    remote, local = ftp_workdir
    old = os.urandom(300_000)
    (local / "keep.bin").write_bytes(old)
    raw = ftp_target.raw()
    raw.greeting()
    raw.login(ftp_target.user, ftp_target.password)
    raw.expect("TYPE I", 200)
    _, port = parse_pasv(raw.expect("PASV", 227))
    d = socket.create_connection((ftp_target.host, port), 10)
    code, text = raw.cmd(f"STOR {remote}/keep.bin")
    assert code in (125, 150), text
    d.sendall(os.urandom(2 * MiB))
    raw.send("ABOR")
    first = raw.reply()
    second = raw.reply()
    assert first[0] == 426 and second[0] == 226, (first, second)
    d.close()
    assert (local / "keep.bin").read_bytes() == old
    leftovers = [n for n in os.listdir(local) if n.startswith(".wharf-upload")]
    assert not leftovers, f"temporary upload files left behind: {leftovers}"
    raw.close()
