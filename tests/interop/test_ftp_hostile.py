"""Hostile input against the FTP server: bouncing data connections to other hosts and privileged
ports (PORT/EPRT), stealing a passive port from another address, 600 connections at once,
oversized lines, commands before login, jail escapes (CWD .., symlinks), RETR of a directory.
After each attack the server still serves a normal client."""

import io
import os
import select
import socket
import time
import uuid

import pytest

from ftp_fixtures import (MiB, _pyftpdlib_main, ftp_target, ftp_workdir, make_ftp_target,  # noqa: F401
                          parse_pasv, quit_quietly, recv_all, wharf_only)

REAL_PASSWD = open("/etc/passwd", "rb").read()


def assert_still_serving(target):
    c = target.ftplib("plain")
    try:
        assert c.pwd() == "/"
        c.nlst("/")
    finally:
        quit_quietly(c)


def logged_in_raw(target, **kw):
    raw = target.raw(**kw)
    raw.greeting()
    raw.login(target.user, target.password)
    return raw


def listener(addr):
    s = socket.socket()
    s.bind((addr, 0))
    s.listen(5)
    return s, s.getsockname()[1]


def port_arg(addr, port):
    return ",".join(addr.split(".")) + f",{port >> 8},{port & 255}"


def accepted_nothing(ls, wait=0.5):
    r, _, _ = select.select([ls], [], [], wait)
    return not r


# --------------------------------------------------------------------------
# data connections
# --------------------------------------------------------------------------
def test_port_and_eprt_to_another_address_are_refused(ftp_target, ftp_workdir):
    remote, local = ftp_workdir
    (local / "f").write_bytes(b"secret")
    ls, lport = listener("127.0.0.2")
    raw = logged_in_raw(ftp_target)
    try:
        for line in (f"PORT {port_arg('127.0.0.2', lport)}", f"EPRT |1|127.0.0.2|{lport}|",
                     f"PORT {port_arg('10.11.12.13', 4000)}", "EPRT |1|192.0.2.1|4000|"):
            code, text = raw.cmd(line)
            assert code == 501, (line, text)
        assert raw.cmd("NOOP")[0] == 200
        # A transfer now has no data connection to use (the reply may be 425, or a 150 that
        # waits): either way nothing connects to the foreign listener.
        raw.send(f"RETR {remote}/f")
        assert accepted_nothing(ls, 1.0), "the server connected to a foreign address"
    finally:
        raw.close()
        ls.close()
    assert_still_serving(ftp_target)


def test_port_and_eprt_to_a_privileged_port_are_refused(ftp_target):
    raw = logged_in_raw(ftp_target)
    try:
        for line in ("PORT 127,0,0,1,0,21", "EPRT |1|127.0.0.1|21|", "PORT 127,0,0,1,3,255",
                     "EPRT |1|127.0.0.1|1|", "PORT 127,0,0,1,0,0"):
            code, text = raw.cmd(line)
            assert code == 501, (line, text)
        assert raw.cmd("NOOP")[0] == 200
    finally:
        raw.close()


@pytest.mark.parametrize("thief_first", [True, False], ids=["before-RETR", "after-RETR"])
def test_passive_port_cannot_be_used_from_another_address(ftp_target, ftp_workdir, thief_first):
    remote, local = ftp_workdir
    data = os.urandom(3 * MiB + 1)
    (local / "f.bin").write_bytes(data)
    raw = logged_in_raw(ftp_target)

    def reply():
        code, text = raw.reply()
        if code == 425 and not ftp_target.is_wharf and "foreign" in text:
            # pyftpdlib announces the rejected connection with an unsolicited 425 (which would
            # desynchronise a real client); Wharf must just drop the thief's connection.
            code, text = raw.reply()
        return code, text

    try:
        raw.expect("TYPE I", 200)
        for _round in range(2):
            raw.send("PASV")
            code, text = reply()
            assert code == 227, text
            _, port = parse_pasv(text)
            thief = socket.socket()
            thief.bind(("127.0.0.2", 0))
            thief.settimeout(5)
            if thief_first:
                # The thief connects before the client has even sent RETR.
                try:
                    thief.connect(("127.0.0.1", port))
                except OSError:
                    pass
                mine = raw.data_connection(port)
                raw.send(f"RETR {remote}/f.bin")
                code, text = reply()
            else:
                # The client has sent RETR; the server waits for the data connection; the
                # thief is quicker.
                code, text = raw.cmd(f"RETR {remote}/f.bin")
                try:
                    thief.connect(("127.0.0.1", port))
                except OSError:
                    pass
                time.sleep(0.3)
                mine = raw.data_connection(port)
            assert code in (125, 150), text
            got = recv_all(mine)
            mine.close()
            assert got == data
            assert reply()[0] == 226
            stolen = b""
            thief.settimeout(1)
            try:
                while True:
                    chunk = thief.recv(65536)
                    if not chunk:
                        break
                    stolen += chunk
            except (OSError, socket.timeout):
                pass
            thief.close()
            assert stolen == b"", f"a connection from 127.0.0.2 got {len(stolen)} bytes of the file"
        raw.send("NOOP")
        assert reply()[0] == 200
    finally:
        raw.close()


# --------------------------------------------------------------------------
# the control connection
# --------------------------------------------------------------------------
BEFORE_LOGIN = ["PWD", "CWD /", "LIST", "NLST", "MLSD", "RETR x", "STOR x", "APPE x", "SIZE x", "MDTM x",
                "MKD evil-dir", "RMD x", "DELE x", "RNFR x", "PASV", "EPSV", "PORT 127,0,0,1,200,1",
                "STAT /", "SITE CHMOD 777 x", "MFMT 20200101000000 x", "STOU", "MLST /"]


def test_commands_before_login_get_530(ftp_target):
    raw = ftp_target.raw()
    try:
        raw.greeting()
        for line in BEFORE_LOGIN:
            code, text = raw.cmd(line)
            assert code == 530, (line, text)
        assert raw.cmd("USER " + ftp_target.user)[0] == 331
        for line in ("PWD", "MKD evil-dir"):  # between USER and PASS too
            code, text = raw.cmd(line)
            assert code in (503, 530), (line, text)
        assert raw.cmd("PASS " + ftp_target.password)[0] == 230
        assert raw.cmd("PWD")[0] == 257
    finally:
        raw.close()
    assert not (ftp_target.home / "evil-dir").exists()


@wharf_only
def test_hash_before_login_and_bad_mfmt_date(ftp_target):
    raw = ftp_target.raw()
    try:
        raw.greeting()
        assert raw.cmd("HASH x")[0] == 530
        raw.login(ftp_target.user, ftp_target.password)
        for line in ("MFMT notadate x", "MFMT 2020 x", "HASH", "OPTS HASH MD77"):
            code, text = raw.cmd(line)
            assert code == 501, (line, text)
    finally:
        raw.close()


def test_unknown_commands_and_bad_arguments(ftp_target):
    raw = ftp_target.raw()
    try:
        raw.greeting()
        assert raw.cmd("XYZZY")[0] == 500
        assert raw.cmd("FOOBAR with args")[0] == 500
        raw.login(ftp_target.user, ftp_target.password)
        assert raw.cmd("XYZZY")[0] == 500
        assert raw.cmd("\x01\x02\x7f")[0] == 500
        for line in ("PORT 1,2,3", "PORT a,b,c,d,e,f", "PORT 127,0,0,1,300,1", "REST abc", "REST -5",
                     "TYPE", "MODE", "STRU", "EPRT garbage", "EPRT |1|127.0.0.1|notaport|", "RNFR", "MKD",
                     "DELE", "SITE CHMOD"):
            code, text = raw.cmd(line)
            assert code == 501, (line, text)
        assert raw.cmd("NOOP")[0] == 200
        assert raw.cmd("PWD")[0] == 257
    finally:
        raw.close()


@pytest.mark.parametrize("logged_in", [False, True], ids=["before-login", "after-login"])
def test_a_100kib_line_gets_500_and_the_connection_goes_on(ftp_target, logged_in):
    raw = ftp_target.raw()
    try:
        raw.greeting()
        if logged_in:
            raw.login(ftp_target.user, ftp_target.password)
        raw.send(b"STOR " + b"A" * (100 * 1024))
        raw.send(b"NOOP")
        codes = []
        while True:
            code, text = raw.reply()
            codes.append(code)
            if code != 500:
                break
        assert codes[0] == 500 and codes[-1] == 200 and set(codes[:-1]) == {500}, codes
        if not logged_in:
            raw.login(ftp_target.user, ftp_target.password)
        assert raw.cmd("PWD")[0] == 257
    finally:
        raw.close()
    assert not any(p.name.startswith("AAAA") for p in ftp_target.home.iterdir())
    assert_still_serving(ftp_target)


@wharf_only
def test_lines_up_to_4096_bytes_are_read_longer_ones_get_500(ftp_target):
    raw = logged_in_raw(ftp_target)
    try:
        code, text = raw.cmd("SIZE " + "b" * 4000)  # 4005 bytes + CRLF: a command, whatever its answer
        assert code != 500 and 400 <= code < 600, text
        code, text = raw.cmd("SIZE " + "b" * 4100)
        assert code == 500, text
        assert raw.cmd("NOOP")[0] == 200
    finally:
        raw.close()


def test_600_connections_at_once(ftp_target):
    n = 600
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.settimeout(30)
            s.connect(("127.0.0.1", ftp_target.port))
            socks.append(s)
        pending = {s.fileno(): s for s in socks}
        got = {}
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            r, _, _ = select.select(list(pending.values()), [], [], 1)
            for s in r:
                data = s.recv(4096)
                got[s.fileno()] = got.get(s.fileno(), b"") + data
                if not data or b"\n" in got[s.fileno()]:
                    del pending[s.fileno()]
        greetings = [got.get(s.fileno(), b"") for s in socks]
        bad = [g for g in greetings if not g.startswith(b"220")]
        assert not bad, f"{len(bad)} of {n} connections got no 220: {bad[:3]}"
        for s in socks:
            s.sendall(b"QUIT\r\n")
    finally:
        for s in socks:
            s.close()
    assert ftp_target.alive()
    assert_still_serving(ftp_target)


# --------------------------------------------------------------------------
# the jail
# --------------------------------------------------------------------------
def test_cwd_above_the_root_stays_at_root(ftp_target, ftp_workdir):
    remote, local = ftp_workdir
    c = ftp_target.ftplib("plain")
    try:
        for path in ("../../..", "/../../..", "..", f"{remote}/../../../.."):
            c.cwd("/")
            assert c.sendcmd(f"CWD {path}").startswith("250"), path
            assert c.pwd() == "/", path
            assert c.sendcmd("PWD").startswith('257 "/"')
        assert set(c.nlst("../../..")) == set(c.nlst("/")) or \
            {n.rsplit("/", 1)[-1] for n in c.nlst("../../..")} == {n.rsplit("/", 1)[-1] for n in c.nlst("/")}
        for path in ("/etc/passwd", "../../../../../../etc/passwd", f"{remote}/../../../../../etc/passwd"):
            for cmd in ("SIZE", "MDTM"):
                try:
                    resp = c.sendcmd(f"{cmd} {path}")
                except Exception as e:
                    resp = str(e)
                assert resp.startswith("550"), (cmd, path, resp)
            buf = io.BytesIO()
            try:
                c.retrbinary(f"RETR {path}", buf.write)
            except Exception as e:
                assert str(e).startswith("550"), (path, e)
            assert buf.getvalue() != REAL_PASSWD
        # Writing "above" the root lands inside the home, or is refused; never outside.
        name = f"escape-{uuid.uuid4().hex}.txt"
        try:
            c.storbinary(f"STOR ../../../../../{name}", io.BytesIO(b"x"))
            assert (ftp_target.home / name).exists()
            (ftp_target.home / name).unlink()
        except Exception as e:
            assert str(e)[:1] == "5", e
        home = os.path.realpath(ftp_target.home)
        for o in (os.path.join(os.path.dirname(home), name), os.path.join("/", name), os.path.join("/tmp", name)):
            assert not os.path.exists(o), f"escaped to {o}"
    finally:
        quit_quietly(c)


def test_symlinks_pointing_outside_cannot_be_listed_or_read(ftp_target, ftp_workdir):
    remote, local = ftp_workdir
    os.symlink("/etc", local / "etc_abs")
    os.symlink("/etc/passwd", local / "passwd_abs")
    os.symlink("../../../../../../../../../etc", local / "etc_rel")
    os.symlink("../../../../../../../../../etc/passwd", local / "passwd_rel")
    c = ftp_target.ftplib("plain")
    try:
        c.voidcmd("TYPE I")
        for link in ("passwd_abs", "passwd_rel", "etc_abs/passwd", "etc_rel/passwd"):
            buf = io.BytesIO()
            with pytest.raises(Exception) as ei:
                c.retrbinary(f"RETR {remote}/{link}", buf.write)
            assert str(ei.value).startswith("550"), (link, ei.value)
            assert buf.getvalue() == b""
            for cmd in ("SIZE", "MDTM"):
                with pytest.raises(Exception) as ei:
                    c.sendcmd(f"{cmd} {remote}/{link}")
                assert str(ei.value).startswith("550"), (cmd, link, ei.value)
        for link in ("etc_abs", "etc_rel"):
            with pytest.raises(Exception) as ei:
                c.cwd(f"{remote}/{link}")
            assert str(ei.value).startswith("550"), (link, ei.value)
            for cmd in ("LIST", "NLST", "MLSD"):
                lines = []
                try:
                    c.retrlines(f"{cmd} {remote}/{link}", lines.append)
                except Exception as e:
                    assert str(e).startswith("550"), (cmd, link, e)
                text = "\n".join(lines)
                assert "passwd" not in text and "shadow" not in text, (cmd, link, text)
            marker = f"wharf-escape-{uuid.uuid4().hex}"
            with pytest.raises(Exception):
                c.storbinary(f"STOR {remote}/{link}/{marker}", io.BytesIO(b"x"))
            with pytest.raises(Exception):
                c.mkd(f"{remote}/{link}/{marker}")
            assert not os.path.exists(f"/etc/{marker}")
        assert c.pwd() == "/"
    finally:
        quit_quietly(c)


def test_retr_of_a_directory_is_550(ftp_target, ftp_workdir):
    remote, local = ftp_workdir
    (local / "d").mkdir()
    c = ftp_target.ftplib("plain")
    try:
        c.voidcmd("TYPE I")
        for path in (f"{remote}/d", remote, "/"):
            with pytest.raises(Exception) as ei:
                c.retrbinary(f"RETR {path}", io.BytesIO().write)
            assert str(ei.value).startswith("550"), (path, ei.value)
        assert c.voidcmd("NOOP").startswith("200")
    finally:
        quit_quietly(c)
