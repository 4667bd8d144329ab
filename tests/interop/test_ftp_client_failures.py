"""How the `wharf` FTP client fails, and recovers: wrong password, TLS refused or not trusted,
plain FTP where TLS is forced, a data connection dropped mid-transfer (retried and resumed), a
server that never answers (connect timeout), one that stops answering (reply timeout), a stalled
data connection (data timeout), missing files. Every failure: exit status 1 and one line
`wharf: <reason>` on stderr.

The misbehaving servers are pyftpdlib with injected faults (ftp_fixtures.py --serve:
--drop-retr-after, --drop-stor-after, --drop-mode, --stall-retr-after, --hang-commands) and a bare
socket that accepts and never writes (ftp_client_fixtures.SilentServer)."""

import ftplib
import io
import re
import subprocess
import time

import pytest

from ftp_client_fixtures import (  # noqa: F401  (fixtures: `peer` reaches the servers by name)
    _pyftpdlib_dos, _pyftpdlib_listonly, _pyftpdlib_plain, _pyftpdlib_tls, _vsftpd_explicit, _vsftpd_implicit,
    _wharf_ftp, ftp_client_certs, make_pyftpdlib_peer, peer, silent_server)
from ftp_client_fixtures import PEER_SPECS, TLS_PEERS, MiB, Peer, failed, ok, part_files, wharf_bin_path
from ftp_fixtures import make_cert
from helpers import sha256_file, write_random


def on(*names):
    return pytest.mark.parametrize("peer", list(names), indirect=True)


NO_RETRY = ["--retries", "0"]
SIZE = 8 * MiB + 5
DROP_AFTER = MiB


# --------------------------------------------------------------------------
# the misbehaving servers themselves, checked with ftplib (no wharf involved)
# --------------------------------------------------------------------------
def _ftplib_login(peer, timeout=10):
    c = ftplib.FTP(timeout=timeout)
    c.connect(peer.host, peer.port)
    c.login(peer.user, peer.password)
    c.cwd(peer.rel)
    return c


def test_fault_servers_selfcheck_with_ftplib(make_pyftpdlib_peer, silent_server):
    # Drop: the first RETR ends early with 426, the next one is complete.
    peer = make_pyftpdlib_peer(drop_retr_after=DROP_AFTER, drop_stor_after=DROP_AFTER)
    data = write_random(peer.path("f.bin"), 3 * MiB)
    c = _ftplib_login(peer)
    got = bytearray()
    with pytest.raises(ftplib.error_temp, match="426"):
        c.retrbinary("RETR f.bin", got.extend)
    assert DROP_AFTER <= len(got) < len(data)
    got = bytearray()
    c.retrbinary("RETR f.bin", got.extend)
    assert bytes(got) == data
    # ... and the first STOR too; REST + STOR then completes the file.
    try:
        c.storbinary("STOR u.bin", io.BytesIO(data))
        raise AssertionError("the first STOR was not dropped")
    except ftplib.error_temp as e:
        assert str(e).startswith("426"), e
    except ConnectionError:     # reset while sending: the 426 waits on the control connection
        with pytest.raises(ftplib.error_temp, match="426"):
            c.voidresp()
    have = peer.path("u.bin").stat().st_size
    assert DROP_AFTER <= have < len(data)
    c.storbinary("STOR u.bin", io.BytesIO(data[have:]), rest=have)
    assert peer.path("u.bin").read_bytes() == data
    c.close()
    # Session mode: the control connection goes too, without a reply.
    peer = make_pyftpdlib_peer(drop_retr_after=DROP_AFTER, drop_mode="session")
    write_random(peer.path("f.bin"), 3 * MiB)
    c = _ftplib_login(peer)
    with pytest.raises((EOFError, ConnectionError, ftplib.error_reply)):
        c.retrbinary("RETR f.bin", lambda b: None)
    c.close()
    # Stall: data stops after the threshold, the connection stays open.
    peer = make_pyftpdlib_peer(stall_retr_after=256 * 1024)
    write_random(peer.path("s.bin"), 2 * MiB)
    c = _ftplib_login(peer, timeout=2)
    got = bytearray()
    with pytest.raises(TimeoutError):
        c.retrbinary("RETR s.bin", got.extend)
    assert 256 * 1024 <= len(got) < 2 * MiB
    c.close()
    # Hang: EPSV and PASV are never answered.
    peer = make_pyftpdlib_peer(hang_commands="EPSV,PASV")
    c = _ftplib_login(peer, timeout=2)
    with pytest.raises(TimeoutError):
        c.sendcmd("EPSV")
    c.close()
    # Silent: no greeting.
    with pytest.raises(TimeoutError):
        ftplib.FTP(timeout=1).connect("127.0.0.1", silent_server.port)


# --------------------------------------------------------------------------
# login and TLS
# --------------------------------------------------------------------------
@on("vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-ftps", "wharf-ftp", "wharf-ftpes")
def test_wrong_password(peer, tmp_path):
    p = failed(peer.wharf("ls", peer.url(), options=NO_RETRY, env={"WHARF_PASSWORD": "not-the-password"}),
               "login with a wrong password")
    assert re.search(r"login|530", p.stderr, re.I), p.stderr
    assert "not-the-password" not in p.stderr, "the password is shown on stderr"


@on("pyftpdlib-ftp")
def test_ftpes_against_a_server_without_tls(peer, tmp_path):
    """pyftpdlib's plain handler answers AUTH TLS with 500: ftpes:// must stop there, before USER
    and PASS go out in clear text."""
    mark = peer.log_mark()
    p = failed(peer.wharf("ls", peer.url(scheme="ftpes"), options=NO_RETRY, ca=False), "ftpes:// without AUTH TLS")
    assert re.search(r"tls", p.stderr, re.I), p.stderr
    cmds = peer.commands(mark)
    assert any(c.upper().startswith("AUTH") for c in cmds), cmds
    assert not any(c.upper().startswith(("USER", "PASS")) for c in cmds), f"credentials sent in clear: {cmds}"


def test_ftpes_against_wharf_with_tls_off(make_server, tmp_path_factory):
    srv = make_server(extra_args=["--ftp-tls", "off"])
    peer = Peer("wharf-tls-off", PEER_SPECS["wharf-ftpes"], srv, srv.ftp_port, srv.user, srv.password, srv.home,
                "/", None, tmp_path_factory.mktemp("client-tls-off"))
    peer.make_workdir("w")
    p = failed(peer.wharf("ls", peer.url(), options=NO_RETRY, ca=False), "ftpes:// to a server with TLS off")
    assert re.search(r"tls", p.stderr, re.I), p.stderr
    # The same server over ftp:// works.
    ok(peer.wharf("ls", peer.url(scheme="ftp")))


@on("pyftpdlib-ftp")
def test_implicit_ftps_against_a_plain_port(peer):
    p = failed(peer.wharf("ls", peer.url(scheme="ftps"), options=[*NO_RETRY, "--connect-timeout", "10"], ca=False),
               "ftps:// to a plain FTP port")
    assert re.search(r"tls|ssl|handshake", p.stderr, re.I), p.stderr


@on("vsftpd-ftpes")
def test_plain_ftp_where_the_server_forces_tls(peer):
    """vsftpd (force_local_logins_ssl) answers USER without TLS with 530."""
    p = failed(peer.wharf("ls", peer.url(scheme="ftp"), options=NO_RETRY), "ftp:// to vsftpd forcing TLS")
    assert re.search(r"530|login|encrypt|tls", p.stderr, re.I), p.stderr


@pytest.mark.parametrize("peer", TLS_PEERS, indirect=True)
def test_untrusted_certificate(peer):
    """Self-signed, and no --ca-file: the system's trust store does not know it."""
    mark = peer.log_mark()
    p = failed(peer.wharf("ls", peer.url(), options=NO_RETRY, ca=False), "an untrusted certificate")
    assert "certificate" in p.stderr.lower(), p.stderr
    cmds = peer.commands(mark)
    if cmds is not None:
        assert not any(c.upper().startswith("PASS") for c in cmds), f"the password went to an untrusted server: {cmds}"


@on("pyftpdlib-ftpes", "vsftpd-ftps", "wharf-ftps")
def test_wrong_ca_file(peer, tmp_path):
    other, _ = make_cert(tmp_path / "other-ca")
    p = failed(peer.wharf("ls", peer.url(), options=[*NO_RETRY, "--ca-file", other], ca=False),
               "--ca-file of another certificate")
    assert "certificate" in p.stderr.lower(), p.stderr


def test_certificate_for_another_host_name(make_pyftpdlib_peer, tmp_path):
    """Trusted (--ca-file) but issued for other.example, not 127.0.0.1: the name check fails."""
    d = tmp_path / "other-name"
    d.mkdir()
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=other.example",
                        "-addext", "subjectAltName=DNS:other.example"], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    peer = make_pyftpdlib_peer(scheme="ftpes", cert=cert, key=key)
    p = failed(peer.wharf("ls", peer.url(), options=NO_RETRY), "a certificate for another name")
    assert re.search(r"certificate|host ?name|name", p.stderr, re.I), p.stderr
    # --insecure accepts it (and says so).
    p = ok(peer.wharf("ls", peer.url(), options=["--insecure"], ca=False))
    assert "insecure" in p.stderr.lower()


# --------------------------------------------------------------------------
# dropped data connections
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["ftp", "ftpes"])
@pytest.mark.parametrize("mode", ["data", "session"])
def test_download_dropped_mid_transfer_is_retried_and_resumed(make_pyftpdlib_peer, tmp_path, scheme, mode):
    """The first RETR loses its data connection after 1 MiB (mode data: 426 on the control
    connection; mode session: the control connection closes too); the next RETR behaves. With the
    default --retries the download succeeds, continuing with REST."""
    peer = make_pyftpdlib_peer(scheme=scheme, drop_retr_after=DROP_AFTER, drop_mode=mode)
    write_random(peer.path("flaky.bin"), SIZE)
    mark = peer.log_mark()
    dest = tmp_path / "flaky.bin"
    p = ok(peer.wharf("get", peer.url("flaky.bin"), dest), "get through a dropped data connection")
    assert sha256_file(dest) == sha256_file(peer.path("flaky.bin"))
    assert not part_files(tmp_path)
    assert "FAULT drop RETR" in peer.log()[mark:], "the fault was not injected"
    retrs = [t for t in peer.transfers(mark, "flaky.bin") if t.verb == "RETR"]
    assert len(retrs) >= 2 and not retrs[0].ok and retrs[1].ok, retrs
    # The retry continues where the kept part ends (a later full RETR may follow: the read-back
    # that checks the kept prefix where the server has no HASH).
    assert retrs[1].bytes < SIZE, f"the retry fetched the whole file again: {retrs}"
    rest = [int(c.split()[1]) for c in peer.commands(mark) if re.match(r"REST \d+$", c)]
    assert rest and max(rest) > 0, "the retry did not continue with REST"
    print(f"{scheme}/{mode}: stderr {p.stderr!r}, RETRs {[(t.bytes, t.ok) for t in retrs]}")


@pytest.mark.parametrize("mode", ["data", "session"])
def test_upload_dropped_mid_transfer_is_retried_and_resumed(make_pyftpdlib_peer, tmp_path, mode):
    peer = make_pyftpdlib_peer(drop_stor_after=DROP_AFTER, drop_mode=mode)
    src = tmp_path / "up.bin"
    write_random(src, SIZE)
    mark = peer.log_mark()
    ok(peer.wharf("put", src, peer.url("up.bin")), "put through a dropped data connection")
    assert sha256_file(peer.path("up.bin")) == sha256_file(src)
    assert not part_files(peer.path()), part_files(peer.path())
    assert "FAULT drop STOR" in peer.log()[mark:], "the fault was not injected"
    ups = [t for t in peer.transfers(mark) if t.verb in ("STOR", "APPE")]
    assert len(ups) >= 2 and not ups[0].ok and ups[-1].ok, ups
    assert ups[-1].bytes < SIZE, f"the retry sent the whole file again: {ups}"
    cmds = peer.commands(mark)
    assert any(c.startswith("APPE ") or re.match(r"REST [1-9]\d*$", c) for c in cmds), cmds


def test_download_dropped_without_retries_keeps_the_part_for_resume(make_pyftpdlib_peer, tmp_path):
    peer = make_pyftpdlib_peer(drop_retr_after=DROP_AFTER)
    write_random(peer.path("cut.bin"), SIZE)
    dest = tmp_path / "dest"
    dest.mkdir()
    p = failed(peer.wharf("get", peer.url("cut.bin"), dest, options=NO_RETRY), "get with --retries 0 and a drop")
    assert "cut.bin" in p.stderr, p.stderr
    assert not (dest / "cut.bin").exists(), "an interrupted download was left under the final name"
    part = dest / "cut.bin.wharf-part"
    assert part.exists() and 0 < part.stat().st_size < SIZE, "the partial was not kept for --resume"
    mark = peer.log_mark()
    ok(peer.wharf("get", "--resume", peer.url("cut.bin"), dest), "get --resume after the drop")
    assert sha256_file(dest / "cut.bin") == sha256_file(peer.path("cut.bin"))
    assert sorted(p.name for p in dest.iterdir()) == ["cut.bin"]
    retrs = [t for t in peer.transfers(mark, "cut.bin") if t.verb == "RETR"]
    assert retrs and min(t.bytes for t in retrs) < SIZE, retrs


def test_upload_dropped_without_retries_then_resume(make_pyftpdlib_peer, tmp_path):
    peer = make_pyftpdlib_peer(drop_stor_after=DROP_AFTER)
    src = tmp_path / "cutup.bin"
    write_random(src, SIZE)
    p = failed(peer.wharf("put", src, peer.url("cutup.bin"), options=NO_RETRY), "put with --retries 0 and a drop")
    assert "cutup.bin" in p.stderr, p.stderr
    assert not peer.path("cutup.bin").exists(), "an interrupted upload sits under the final name"
    mark = peer.log_mark()
    ok(peer.wharf("put", "--resume", src, peer.url("cutup.bin")), "put --resume after the drop")
    assert sha256_file(peer.path("cutup.bin")) == sha256_file(src)
    assert sorted(p.name for p in peer.path().iterdir()) == ["cutup.bin"]
    ups = [t for t in peer.transfers(mark) if t.verb in ("STOR", "APPE")]
    assert ups and ups[-1].bytes < SIZE, f"put --resume sent everything again: {ups}"


# --------------------------------------------------------------------------
# timeouts
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scheme", ["ftp", "ftps"])
def test_connect_timeout_against_a_silent_server(silent_server, tmp_path, scheme):
    """TCP accepted, no greeting (nor TLS handshake) ever: --connect-timeout 2 ends it."""
    env = {"HOME": str(tmp_path), "LC_ALL": "C.UTF-8", "WHARF_PASSWORD": "x", "PATH": "/usr/bin:/bin"}
    argv = [wharf_bin_path(), "ls", "--connect-timeout", "2", *NO_RETRY,
            f"{scheme}://alice@127.0.0.1:{silent_server.port}/"]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    p.argv = argv
    failed(p, "a silent server")
    assert "timed out" in p.stderr, p.stderr
    assert 1.5 <= elapsed <= 10, f"--connect-timeout 2 took {elapsed:.1f}s"
    assert silent_server.accepted == 1


def test_connect_timeout_is_retried(silent_server, tmp_path):
    env = {"HOME": str(tmp_path), "LC_ALL": "C.UTF-8", "WHARF_PASSWORD": "x", "PATH": "/usr/bin:/bin"}
    argv = [wharf_bin_path(), "ls", "--connect-timeout", "1", "--retries", "1",
            f"ftp://alice@127.0.0.1:{silent_server.port}/"]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - t0
    assert p.returncode == 1, p.stderr
    assert "timed out" in p.stderr.splitlines()[-1], p.stderr
    assert p.stderr.splitlines()[-1].startswith("wharf: "), p.stderr
    assert silent_server.accepted == 2, f"{silent_server.accepted} connections for --retries 1"
    assert elapsed <= 20, f"{elapsed:.1f}s"


def test_reply_timeout(make_pyftpdlib_peer):
    """The server logs in, then never answers EPSV or PASV: --reply-timeout 2 ends the wait."""
    peer = make_pyftpdlib_peer(hang_commands="EPSV,PASV")
    t0 = time.monotonic()
    p = failed(peer.wharf("ls", peer.url(), options=[*NO_RETRY, "--reply-timeout", "2"]), "an unanswered command")
    elapsed = time.monotonic() - t0
    assert "timed out" in p.stderr, p.stderr
    assert elapsed <= 15, f"--reply-timeout 2 took {elapsed:.1f}s"
    assert "FAULT not answering" in peer.log()


def test_data_timeout_on_a_stalled_download(make_pyftpdlib_peer, tmp_path):
    """The server sends 256 KiB of the file, then nothing (the connection stays open)."""
    peer = make_pyftpdlib_peer(stall_retr_after=256 * 1024)
    write_random(peer.path("stall.bin"), 4 * MiB)
    dest = tmp_path / "stall.bin"
    t0 = time.monotonic()
    p = failed(peer.wharf("get", peer.url("stall.bin"), dest, options=[*NO_RETRY, "--data-timeout", "2"]),
               "a stalled data connection")
    elapsed = time.monotonic() - t0
    assert "timed out" in p.stderr, p.stderr
    assert elapsed <= 20, f"--data-timeout 2 took {elapsed:.1f}s"
    assert not dest.exists(), "a stalled download was left under the final name"
    assert "FAULT stall RETR" in peer.log()


# --------------------------------------------------------------------------
# missing files
# --------------------------------------------------------------------------
@on("vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-listonly-ftp", "wharf-ftpes")
def test_missing_remote_paths(peer, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    p = failed(peer.wharf("get", peer.url("no such file.txt"), dest), "get of a missing file")
    assert "no such file.txt" in p.stderr, p.stderr
    assert list(dest.iterdir()) == [], "a missing remote file left something locally"
    p = failed(peer.wharf("ls", peer.url("nope")), "ls of a missing directory")
    assert "nope" in p.stderr
    p = failed(peer.wharf("rm", peer.url("nope.txt")), "rm of a missing file")
    assert "nope.txt" in p.stderr
    p = failed(peer.wharf("get", "-r", peer.url("nodir"), dest), "get -r of a missing directory")
    assert "nodir" in p.stderr


@on("vsftpd-ftps", "pyftpdlib-ftp", "wharf-ftp")
def test_put_of_a_missing_local_file(peer, tmp_path):
    p = failed(peer.wharf("put", tmp_path / "absent.bin", peer.url("absent.bin")), "put of a missing file")
    assert "absent.bin" in p.stderr
    assert not peer.path("absent.bin").exists()
    assert not part_files(peer.path())

