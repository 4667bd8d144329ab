"""Python's ftplib against the FTP server: plain FTP and AUTH TLS with PROT P (the `mode` fixture),
and implicit TLS. Every command of the contract, transfers of 0 B, 1 B, 1 MiB + 1 and 100 MiB
checked by SHA-256, REST resume both ways, APPE, STOU, ABOR mid-transfer (ftplib's urgent-data
ABOR and the RFC 959 Telnet IP/Synch sequence) with the control connection usable afterwards."""

import calendar
import ftplib
import hashlib
import io
import os
import re
import socket
import ssl
import time

import pytest

from ftp_fixtures import (MiB, _pyftpdlib_main, abort_tls, ftp, ftp_target, ftp_workdir,  # noqa: F401
                          make_ftp_target, mode, parse_epsv, parse_facts, parse_list, parse_pasv, quit_quietly,
                          recv_all, wharf_only)
from helpers import sha256_file, write_random


def resp_code(text):
    return int(text[:3])


def expect_error(code_prefix, fn, *args):
    """Runs an ftplib call that must fail with a reply starting with `code_prefix` (e.g. "550", "5")."""
    with pytest.raises(ftplib.Error) as ei:
        fn(*args)
    msg = str(ei.value)
    assert msg.startswith(code_prefix), f"expected {code_prefix}..., got {msg!r}"
    return msg


def retr_bytes(c, path, rest=None):
    buf = io.BytesIO()
    resp = c.retrbinary(f"RETR {path}", buf.write, rest=rest)
    assert resp.startswith("226"), resp
    return buf.getvalue()


def stor_bytes(c, path, data, cmd="STOR", rest=None):
    resp = c.storbinary(f"{cmd} {path}", io.BytesIO(data), rest=rest)
    assert resp.startswith("226"), resp
    return resp


# --------------------------------------------------------------------------
# session and simple commands
# --------------------------------------------------------------------------
def test_greeting_login_and_simple_commands(ftp_target, ftp, mode):
    assert ftp.getwelcome().startswith("220")
    assert ftp.sendcmd("PWD").startswith('257 "/"')
    assert ftp.pwd() == "/"
    assert resp_code(ftp.sendcmd("SYST")) == 215
    assert resp_code(ftp.sendcmd("NOOP")) == 200
    for t in ("TYPE A", "TYPE I"):
        assert resp_code(ftp.sendcmd(t)) == 200, t
    assert resp_code(ftp.sendcmd("MODE S")) == 200
    assert resp_code(ftp.sendcmd("STRU F")) == 200
    for bad in ("MODE B", "MODE C", "STRU R", "STRU P"):
        expect_error("504", ftp.sendcmd, bad)
    assert resp_code(ftp.sendcmd("ALLO 1000")) == 202
    help_text = ftp.sendcmd("HELP")
    assert resp_code(help_text) == 214 and "RETR" in help_text.upper()
    assert resp_code(ftp.sendcmd("OPTS UTF8 ON")) == 200
    assert resp_code(ftp.sendcmd("SITE HELP")) == 214
    assert ftp.voidcmd("NOOP").startswith("200")
    assert ftp.quit().startswith("221")


def test_feat_lists_the_common_features(ftp_target, ftp, mode):
    text = ftp.sendcmd("FEAT")
    assert text.startswith("211-") and text.rstrip().splitlines()[-1].startswith("211"), text
    feats = [line.strip() for line in text.splitlines()[1:-1]]
    upper = {f.upper() for f in feats}
    for need in ("AUTH TLS", "EPRT", "EPSV", "MDTM", "MFMT", "PBSZ", "PROT", "REST STREAM", "SIZE", "UTF8"):
        assert need in upper, f"FEAT lacks {need!r}: {feats}"
    mlst = [f for f in feats if f.upper().startswith("MLST ")]
    assert mlst, feats
    facts = {x.rstrip("*").lower() for x in mlst[0][5:].split(";") if x}
    assert {"type", "size", "modify", "perm", "unique", "unix.mode"} <= facts, mlst


@wharf_only
def test_feat_lists_everything_wharf_promises(ftp_target, ftp, mode):
    text = ftp.sendcmd("FEAT")
    feats = [line.strip() for line in text.splitlines()[1:-1]]
    upper = {f.upper() for f in feats}
    for need in ("AUTH TLS", "EPRT", "EPSV", "MDTM", "MFMT", "PBSZ", "PROT", "REST STREAM", "SIZE", "UTF8",
                 "SITE CHMOD"):
        assert need in upper, f"FEAT lacks {need!r}: {feats}"
    mlst = [f for f in feats if f.upper().startswith("MLST ")]
    assert mlst, feats
    enabled = {x[:-1].lower() for x in mlst[0][5:].split(";") if x.endswith("*")}
    assert {"type", "size", "modify", "perm", "unique", "unix.mode"} <= enabled, mlst
    hashes = [f for f in feats if f.upper().startswith("HASH ")]
    assert hashes, feats
    algs = hashes[0][5:].split(";")
    assert "SHA-256*" in algs and "SHA-1" in algs, hashes


def test_directory_and_file_commands(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    ftp.cwd(remote)
    assert ftp.pwd() == remote
    mk = ftp.sendcmd("MKD sub dir")
    assert mk.startswith("257") and f'"{remote}/sub dir"' in mk, mk
    assert (local / "sub dir").is_dir()
    assert ftp.sendcmd("CWD sub dir").startswith("250")
    assert ftp.pwd() == f"{remote}/sub dir"
    assert ftp.sendcmd(f"CWD {remote}").startswith("250")
    (local / "f.txt").write_bytes(b"hello, ftp\n")
    ftp.voidcmd("TYPE I")  # (SIZE in ASCII mode is left open by the contract; pyftpdlib refuses it)
    assert ftp.sendcmd("SIZE f.txt") == "213 11"
    assert ftp.size("f.txt") == 11
    # MDTM: YYYYMMDDHHMMSS (UTC) of the file's mtime.
    os.utime(local / "f.txt", (1_600_000_000, 1_600_000_000))
    md = ftp.sendcmd("MDTM f.txt")
    assert md.startswith("213 20200913122640"), md
    # MFMT sets it.
    mf = ftp.sendcmd("MFMT 20210102030405 f.txt")
    assert resp_code(mf) == 213, mf
    assert int(os.stat(local / "f.txt").st_mtime) == calendar.timegm((2021, 1, 2, 3, 4, 5))
    assert ftp.sendcmd("MDTM f.txt").startswith("213 20210102030405")
    # SITE CHMOD
    os.chmod(local / "f.txt", 0o600)
    assert resp_code(ftp.sendcmd("SITE CHMOD 755 f.txt")) == 200
    assert os.stat(local / "f.txt").st_mode & 0o777 == 0o755
    # RNFR / RNTO
    assert ftp.sendcmd("RNFR f.txt").startswith("350")
    assert ftp.sendcmd("RNTO sub dir/g.txt").startswith("250")
    assert not (local / "f.txt").exists() and (local / "sub dir" / "g.txt").read_bytes() == b"hello, ftp\n"
    # DELE / RMD
    expect_error("550", ftp.sendcmd, "RMD sub dir")  # not empty
    assert ftp.sendcmd("DELE sub dir/g.txt").startswith("250")
    assert ftp.sendcmd("RMD sub dir").startswith("250")
    assert not (local / "sub dir").exists()
    # Missing things.
    expect_error("550", ftp.sendcmd, "CWD nope")
    expect_error("550", ftp.sendcmd, "DELE nope")
    expect_error("550", ftp.sendcmd, "SIZE nope")
    expect_error("550", ftp.sendcmd, "MDTM nope")
    expect_error("550", ftp.sendcmd, "RMD nope")
    expect_error("550", ftp.sendcmd, "RNFR nope")
    expect_error("550", retr_bytes, ftp, "nope")
    assert ftp.pwd() == remote


def test_pasv_and_epsv_replies(ftp_target, ftp, mode):
    text = ftp.sendcmd("PASV")
    assert resp_code(text) == 227, text
    host, port = parse_pasv(text)
    assert host == "127.0.0.1" and 0 < port < 65536
    text = ftp.sendcmd("EPSV")
    assert resp_code(text) == 229, text
    assert 0 < parse_epsv(text) < 65536
    # ABOR with no transfer running.
    assert ftp.sendcmd("ABOR")[:3] in ("225", "226")
    assert ftp.sendcmd("ABOR").startswith("225")


def test_epsv_all_refuses_pasv_and_port(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    (local / "listed.txt").write_bytes(b"x")
    assert ftp.sendcmd("EPSV ALL").startswith("2")
    expect_error("5", ftp.sendcmd, "PASV")
    expect_error("5", ftp.sendcmd, "PORT 127,0,0,1,200,10")
    expect_error("5", ftp.sendcmd, "EPRT |1|127.0.0.1|51210|")
    # EPSV still works, and so do transfers over it.
    ftp.af = socket.AF_INET6  # makes ftplib use EPSV
    try:
        names = ftp.nlst(remote)
    finally:
        ftp.af = socket.AF_INET
    assert [n.rsplit("/", 1)[-1] for n in names] == ["listed.txt"]


# --------------------------------------------------------------------------
# transfers
# --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, MiB + 1], ids=["0B", "1B", "1MiB+1"])
def test_upload_and_download_sizes(ftp_target, ftp, ftp_workdir, tmp_path, size):
    remote, local = ftp_workdir
    data = os.urandom(size)
    stor_bytes(ftp, f"{remote}/up.bin", data)
    assert (local / "up.bin").read_bytes() == data
    assert ftp.size(f"{remote}/up.bin") == size
    got = retr_bytes(ftp, f"{remote}/up.bin")
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.big
def test_100mib_upload_and_download(ftp_target, ftp, ftp_workdir, tmp_path):
    remote, local = ftp_workdir
    src = tmp_path / "big.bin"
    write_random(src, 100 * MiB)
    want = sha256_file(src)
    with open(src, "rb") as f:
        resp = ftp.storbinary(f"STOR {remote}/big.bin", f, blocksize=1 << 20)
    assert resp.startswith("226"), resp
    assert sha256_file(local / "big.bin") == want
    h = hashlib.sha256()
    n = [0]

    def sink(b):
        h.update(b)
        n[0] += len(b)

    resp = ftp.retrbinary(f"RETR {remote}/big.bin", sink, blocksize=1 << 20)
    assert resp.startswith("226"), resp
    assert n[0] == 100 * MiB and h.hexdigest() == want


def test_ascii_type_listing_and_binary_transfer_after(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    (local / "a.txt").write_bytes(b"line1\nline2\n")
    lines = []
    ftp.retrlines(f"RETR {remote}/a.txt", lines.append)  # TYPE A
    assert lines == ["line1", "line2"]
    assert retr_bytes(ftp, f"{remote}/a.txt") == b"line1\nline2\n"  # TYPE I again


def test_ascii_upload_translates_line_ends_across_reads(ftp_target, ftp, ftp_workdir):
    """TYPE A STOR: CRLF becomes LF, also when the CR and the LF arrive in different reads, and
    over an upload of several storage writes (batches of 256 KiB)."""
    remote, local = ftp_workdir
    body = b"".join(b"line %d\r\n" % i for i in range(120_000))  # about 1.3 MB
    ftp.voidcmd("TYPE A")
    with ftp.transfercmd(f"STOR {remote}/up.txt") as conn:
        conn.sendall(b"x\r")
        time.sleep(0.3)  # the LF comes in a later read
        conn.sendall(b"\ny\r\n")
        for i in range(0, len(body), 8192):  # small sends, as a line-by-line client makes
            conn.sendall(body[i:i + 8192])
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()  # close_notify: the end of the file, as ftplib's storlines sends it
    assert ftp.voidresp().startswith("226")
    ftp.voidcmd("TYPE I")
    assert (local / "up.txt").read_bytes() == b"x\ny\n" + body.replace(b"\r\n", b"\n")


def test_active_mode_transfers(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    ftp.set_pasv(False)
    data = os.urandom(300_001)
    stor_bytes(ftp, f"{remote}/act.bin", data)
    assert (local / "act.bin").read_bytes() == data
    assert retr_bytes(ftp, f"{remote}/act.bin") == data
    assert "act.bin" in ftp.nlst(remote) or f"{remote}/act.bin" in ftp.nlst(remote)
    # EPRT as well (ftplib sends it for IPv6 only: send it by hand).
    with socket.create_server(("127.0.0.1", 0)) as ls:
        ls.settimeout(30)
        port = ls.getsockname()[1]
        assert ftp.sendcmd(f"EPRT |1|127.0.0.1|{port}|").startswith("200")
        ftp.voidcmd("TYPE I")
        resp = ftp.sendcmd(f"RETR {remote}/act.bin")
        assert resp.startswith("150") or resp.startswith("125"), resp
        conn, _ = ls.accept()
        conn.settimeout(30)
        if isinstance(ftp, ftplib.FTP_TLS) and ftp._prot_p:
            conn = ftp.context.wrap_socket(conn, server_hostname=ftp.host)
        with conn:
            got = recv_all(conn)
        assert got == data
        assert ftp.voidresp().startswith("226")


def test_utf8_names_with_spaces(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    name = "naïve café 日本語 🚢.txt"
    stor_bytes(ftp, f"{remote}/{name}", b"utf8!")
    assert (local / name).read_bytes() == b"utf8!"
    assert name in [n.rsplit("/", 1)[-1] for n in ftp.nlst(remote)]
    assert retr_bytes(ftp, f"{remote}/{name}") == b"utf8!"
    ftp.mkd(f"{remote}/dir ü")
    ftp.cwd(f"{remote}/dir ü")
    assert ftp.pwd() == f"{remote}/dir ü"


def test_pwd_quotes_a_directory_name_with_quotes(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    (local / 'say "hi"').mkdir()
    ftp.cwd(f'{remote}/say "hi"')
    text = ftp.sendcmd("PWD")
    assert text.startswith(f'257 "{remote}/say ""hi"""'), text
    assert ftp.pwd() == f'{remote}/say "hi"'


# --------------------------------------------------------------------------
# REST, APPE, STOU
# --------------------------------------------------------------------------
def test_rest_resumes_a_download(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    data = write_random(local / "r.bin", 3 * MiB + 7)
    ftp.voidcmd("TYPE I")
    assert ftp.sendcmd("REST 1000000").startswith("350")
    ftp.sendcmd("NOOP")  # (a REST is consumed by the next transfer only; NOOP must not matter)
    got = retr_bytes(ftp, f"{remote}/r.bin", rest=1_000_000)
    assert got == data[1_000_000:]
    assert retr_bytes(ftp, f"{remote}/r.bin", rest=len(data)) == b""
    assert retr_bytes(ftp, f"{remote}/r.bin") == data  # the marker does not stick


def test_rest_resumes_an_upload_and_appe_appends(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    data = os.urandom(2 * MiB + 3)
    stor_bytes(ftp, f"{remote}/u.bin", data[:700_000])
    assert (local / "u.bin").read_bytes() == data[:700_000]
    stor_bytes(ftp, f"{remote}/u.bin", data[700_000:], rest=700_000)
    assert (local / "u.bin").read_bytes() == data
    stor_bytes(ftp, f"{remote}/u.bin", b"tail", cmd="APPE")
    assert (local / "u.bin").read_bytes() == data + b"tail"
    stor_bytes(ftp, f"{remote}/new-by-appe.bin", b"fresh", cmd="APPE")
    assert (local / "new-by-appe.bin").read_bytes() == b"fresh"
    # A plain STOR replaces (truncates).
    stor_bytes(ftp, f"{remote}/u.bin", b"short")
    assert (local / "u.bin").read_bytes() == b"short"


def test_stou_creates_a_unique_file(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    ftp.cwd(remote)
    (local / "existing").write_bytes(b"keep")
    for payload in (b"one", b"two"):
        resp = ftp.storbinary("STOU", io.BytesIO(payload))
        assert resp.startswith("226"), resp
    files = {p.name: p.read_bytes() for p in local.iterdir()}
    assert files.pop("existing") == b"keep"
    assert sorted(files.values()) == [b"one", b"two"], files


def test_stou_reply_names_the_file(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    ftp.cwd(remote)
    ftp.voidcmd("TYPE I")
    host, port = ftp.makepasv()
    conn = socket.create_connection((host, port), 30)
    text = ftp.sendcmd("STOU")
    assert text[:3] in ("150", "125"), text  # 125: the data connection was already open
    m = re.search(r"FILE: (.+)$", text.splitlines()[0])
    assert m, f"150 reply of STOU names no file: {text!r}"
    name = m.group(1).strip()
    if isinstance(ftp, ftplib.FTP_TLS) and ftp._prot_p:
        conn = ftp.context.wrap_socket(conn, server_hostname=ftp.host)
    with conn:
        conn.sendall(b"stou payload")
        if isinstance(conn, ssl.SSLSocket):
            conn.unwrap()
    assert ftp.voidresp().startswith("226")
    assert (local / os.path.basename(name)).read_bytes() == b"stou payload"


# --------------------------------------------------------------------------
# listings
# --------------------------------------------------------------------------
def _populate(local):
    (local / "a.txt").write_bytes(b"12345")
    (local / "b.log").write_bytes(b"x" * 1000)
    (local / "d").mkdir()
    (local / "d" / "inner.txt").write_bytes(b"in")
    os.chmod(local / "a.txt", 0o644)
    os.utime(local / "a.txt", (1_600_000_000, 1_600_000_000))


def test_list_is_in_ls_l_form_and_takes_flags(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    _populate(local)
    lines = []
    ftp.retrlines(f"LIST {remote}", lines.append)
    entries = parse_list(lines)
    assert {"a.txt", "b.log", "d"} <= set(entries), lines
    a = entries["a.txt"]
    assert a.group("mode") == "-rw-r--r--" and a.group("size") == "5", lines
    assert (a.group("month"), a.group("day"), a.group("time")) == ("Sep", "13", "2020"), lines
    assert entries["d"].group("mode").startswith("d")
    assert entries["b.log"].group("size") == "1000"
    # With ls flags, and on the current directory.
    ftp.cwd(remote)
    for flags in ("-la", "-l", "-a"):
        lines = []
        ftp.retrlines(f"LIST {flags}", lines.append)
        names = set(parse_list(lines))
        assert {"a.txt", "b.log", "d"} <= names, (flags, lines)
    lines = []
    ftp.retrlines("LIST", lines.append)
    assert {"a.txt", "b.log", "d"} <= set(parse_list(lines))
    # LIST of one file lists that file.
    lines = []
    ftp.retrlines("LIST a.txt", lines.append)
    assert list(parse_list(lines)) == ["a.txt"], lines
    # NLST
    assert {n.rsplit("/", 1)[-1] for n in ftp.nlst(remote)} >= {"a.txt", "b.log", "d"}
    assert {n.rsplit("/", 1)[-1] for n in ftp.nlst()} >= {"a.txt", "b.log", "d"}
    expect_error("550", ftp.nlst, f"{remote}/missing")


@wharf_only
def test_list_and_nlst_with_globs_and_flags_together(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    _populate(local)
    ftp.cwd(remote)
    assert sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst("*.txt")) == ["a.txt"]
    assert sorted(n.rsplit("/", 1)[-1] for n in ftp.nlst("-la *.log")) == ["b.log"]
    lines = []
    ftp.retrlines("LIST -la *.txt", lines.append)
    assert list(parse_list(lines)) == ["a.txt"], lines
    lines = []
    ftp.retrlines(f"LIST {remote}/?.log", lines.append)
    assert list(parse_list(lines)) == ["b.log"], lines


def test_mlsd_and_mlst_facts(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    _populate(local)
    os.chmod(local / "b.log", 0o640)
    opts = ftp.sendcmd("OPTS MLST type;size;modify;perm;unique;unix.mode;")
    assert opts.startswith("200"), opts
    entries = dict((name, facts) for name, facts in ftp.mlsd(remote))
    assert {"a.txt", "b.log", "d"} <= set(entries), entries
    for name in ("a.txt", "b.log", "d"):
        f = {k.lower(): v for k, v in entries[name].items()}
        assert {"type", "modify", "perm", "unique", "unix.mode"} <= set(f), (name, f)
        assert f["modify"][:14].isdigit()
    a = {k.lower(): v for k, v in entries["a.txt"].items()}
    assert a["type"] == "file" and a["size"] == "5" and a["modify"].startswith("20200913122640")
    assert int(a["unix.mode"], 8) == 0o644
    assert int({k.lower(): v for k, v in entries["b.log"].items()}["unix.mode"], 8) == 0o640
    assert "r" in a["perm"] and "w" in a["perm"]
    assert {k.lower(): v for k, v in entries["d"].items()}["type"] == "dir"
    assert a["unique"] != {k.lower(): v for k, v in entries["b.log"].items()}["unique"]
    # MLST: one line on the control connection.
    text = ftp.sendcmd(f"MLST {remote}/a.txt")
    assert text.startswith("250-"), text
    facts, name = parse_facts(text.splitlines()[1].strip())
    assert facts["type"] == "file" and facts["size"] == "5", text
    assert name.endswith("a.txt")


@wharf_only
def test_mlsd_sends_every_fact_by_default(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    _populate(local)
    entries = dict(ftp.mlsd(remote))
    a = {k.lower(): v for k, v in entries["a.txt"].items()}
    assert {"type", "size", "modify", "perm", "unique", "unix.mode"} <= set(a), a


def test_stat_without_and_with_a_path(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    _populate(local)
    text = ftp.sendcmd("STAT")
    lines = text.splitlines()
    assert lines[0].startswith("211-") and lines[-1].startswith("211"), text
    text = ftp.sendcmd(f"STAT {remote}")
    lines = text.splitlines()
    assert lines[0].startswith("213-") and lines[-1].startswith("213"), text
    body = [line.strip() for line in lines[1:-1]]
    assert {"a.txt", "b.log", "d"} <= set(parse_list(body)), text


# --------------------------------------------------------------------------
# ABOR
# --------------------------------------------------------------------------
def tail(path, n):
    with open(path, "rb") as f:
        f.seek(-n, os.SEEK_END)
        return f.read()


def _abort(c):
    """ABOR as ftplib sends it (urgent data on plain FTP), then both replies: 426 for the
    transfer, 226 for the ABOR (or 226 + 225/226 if the transfer had finished)."""
    c.sock.settimeout(10)
    if isinstance(c, ftplib.FTP_TLS):
        first = abort_tls(c)
    else:
        first = c.abort()
    second = c.getmultiline()
    return first, second


def test_abor_during_a_download_then_more_commands(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    write_random(local / "big.bin", 32 * MiB)
    ftp.voidcmd("TYPE I")
    conn, size = ftp.ntransfercmd(f"RETR {remote}/big.bin")
    got = conn.recv(65536)
    assert got
    first, second = _abort(ftp)
    assert first.startswith("426"), (first, second)
    assert second.startswith("226"), (first, second)
    try:
        conn.close()
    except OSError:
        pass
    # The control connection goes on.
    assert ftp.voidcmd("NOOP").startswith("200")
    assert ftp.pwd() == "/"
    assert retr_bytes(ftp, f"{remote}/big.bin", rest=32 * MiB - 10) == tail(local / "big.bin", 10)


def test_abor_during_an_upload_then_more_commands(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    ftp.voidcmd("TYPE I")
    conn, _ = ftp.ntransfercmd(f"STOR {remote}/partial.bin")
    chunk = os.urandom(256 * 1024)
    for _ in range(8):
        conn.sendall(chunk)
    first, second = _abort(ftp)
    assert first.startswith("426"), (first, second)
    assert second.startswith("226"), (first, second)
    try:
        conn.close()
    except OSError:
        pass
    assert ftp.voidcmd("NOOP").startswith("200")
    stor_bytes(ftp, f"{remote}/after.bin", b"after abort")
    assert (local / "after.bin").read_bytes() == b"after abort"


def test_abor_with_the_telnet_synch_sequence(ftp_target, ftp_workdir):
    """RFC 959 4.1.3: IAC IP, then IAC DM sent as urgent data, then ABOR."""
    remote, local = ftp_workdir
    write_random(local / "big.bin", 32 * MiB)
    c = ftp_target.ftplib("plain")
    try:
        c.voidcmd("TYPE I")
        conn, _ = c.ntransfercmd(f"RETR {remote}/big.bin")
        assert conn.recv(65536)
        c.sock.settimeout(10)
        c.sock.sendall(b"\xff\xf4\xff")            # IAC IP IAC
        c.sock.send(b"\xf2", socket.MSG_OOB)       # DM, urgent
        c.sock.sendall(b"ABOR\r\n")
        first = c.getmultiline()
        second = c.getmultiline()
        assert first.startswith("426") and second.startswith("226"), (first, second)
        conn.close()
        assert c.voidcmd("NOOP").startswith("200")
        assert retr_bytes(c, f"{remote}/big.bin", rest=32 * MiB - 5) == tail(local / "big.bin", 5)
    finally:
        quit_quietly(c)


# --------------------------------------------------------------------------
# TLS specifics
# --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, 2 * MiB + 1], ids=["0B", "1B", "2MiB+1"])
def test_implicit_tls_transfers(ftp_target, ftp_workdir, size):
    remote, local = ftp_workdir
    c = ftp_target.ftplib("implicit")
    try:
        assert isinstance(c.sock, ssl.SSLSocket)
        data = os.urandom(size)
        stor_bytes(c, f"{remote}/imp.bin", data)
        assert (local / "imp.bin").read_bytes() == data
        assert retr_bytes(c, f"{remote}/imp.bin") == data
        assert c.pwd() == "/"
    finally:
        quit_quietly(c)


def test_tls_protection_levels(ftp_target, ftp_workdir):
    """PROT C on a TLS control connection transfers in clear; PROT P in TLS; PROT without
    PBSZ is refused with 503."""
    remote, local = ftp_workdir
    (local / "p.bin").write_bytes(b"protected?")
    raw = ftp_target.raw()
    try:
        raw.greeting()
        raw.auth_tls(ftp_target.ssl_context())
        raw.login(ftp_target.user, ftp_target.password)
        code, text = raw.cmd("PROT P")
        assert code == 503, text
        raw.expect("PBSZ 0", 200)
        raw.expect("PROT C", 200)
        raw.expect("TYPE I", 200)
        _, port = raw.pasv()
        d = raw.data_connection(port)
        code, text = raw.cmd(f"RETR {remote}/p.bin")
        assert code in (125, 150), text
        assert recv_all(d) == b"protected?"  # clear text
        d.close()
        assert raw.reply()[0] == 226
        raw.expect("PROT P", 200)
        _, port = raw.pasv()
        d = raw.data_connection(port)
        code, text = raw.cmd(f"RETR {remote}/p.bin")
        assert code in (125, 150), text
        d = raw.wrap_data(d)
        assert recv_all(d) == b"protected?"
        d.close()
        assert raw.reply()[0] == 226
    finally:
        raw.close()


def test_plain_session_refuses_pbsz_and_prot(ftp_target):
    """No data protection can be claimed without TLS on the control connection."""
    raw = ftp_target.raw()
    try:
        raw.greeting()
        raw.login(ftp_target.user, ftp_target.password)
        assert 500 <= raw.cmd("PBSZ 0")[0] < 600
        assert 500 <= raw.cmd("PROT P")[0] < 600
        assert raw.cmd("NOOP")[0] == 200
    finally:
        raw.close()


@wharf_only
def test_ccc_is_refused(ftp_target):
    c = ftp_target.ftplib("tls")
    try:
        expect_error("534", c.sendcmd, "CCC")
        assert c.voidcmd("NOOP").startswith("200")
    finally:
        quit_quietly(c)


@wharf_only
def test_hash_and_opts_hash(ftp_target, ftp, ftp_workdir):
    remote, local = ftp_workdir
    data = os.urandom(123_457)
    (local / "h.bin").write_bytes(data)
    text = ftp.sendcmd(f"HASH {remote}/h.bin")
    assert text == f"213 SHA-256 0-{len(data)} {hashlib.sha256(data).hexdigest()} {remote}/h.bin", text
    assert ftp.sendcmd("OPTS HASH SHA-1").startswith("200")
    text = ftp.sendcmd(f"HASH {remote}/h.bin")
    assert text.startswith(f"213 SHA-1 0-{len(data)} "), text
    assert text.split()[3].lower() == hashlib.sha1(data).hexdigest(), text
    expect_error("550", ftp.sendcmd, f"HASH {remote}/nope")


@wharf_only
def test_rein_resets_the_session(ftp_target, ftp, mode):
    assert ftp.sendcmd("REIN").startswith("220")
    expect_error("530", ftp.sendcmd, "PWD")
    assert ftp.sendcmd(f"USER {ftp_target.user}").startswith("331")
    assert ftp.sendcmd(f"PASS {ftp_target.password}").startswith("230")
    assert ftp.pwd() == "/"
