"""curl against the FTP server: ftp://, ftp:// with --ssl-reqd (AUTH TLS), ftps:// (implicit TLS);
EPSV, PASV (--disable-epsv) and active mode (-P -); --ftp-method multicwd|nocwd|singlecwd;
uploads (-T, --ftp-create-dirs), listings (LIST and -l NLST), resume both ways (-C -), and the
server certificate checked with --cacert (a wrong CA fails)."""

import os
import urllib.parse

import pytest

from ftp_fixtures import (_pyftpdlib_main, cert_names, ftp_target, ftp_workdir, make_cert,  # noqa: F401
                          make_ftp_target, parse_list)
from helpers import read_bytes, run, write_random

SECURITY = ["plain", "explicit", "implicit"]
DATA = ["epsv", "pasv", "active"]


def tls_host(target):
    """(host for the URL, extra curl args) so that --cacert verifies the server's certificate
    including its name: 127.0.0.1 when the certificate names that address, else a name it
    carries, resolved to 127.0.0.1 with --resolve."""
    ips, dns, cn = cert_names(target.cafile)
    if "127.0.0.1" in ips:
        return "127.0.0.1", []
    name = (dns or [cn])[0]
    assert name, f"the server certificate names no host: {target.cafile}"
    ports = {target.port, target.implicit_tls_port} - {None}
    return name, [a for p in sorted(ports) for a in ("--resolve", f"{name}:{p}:127.0.0.1")]


class Curl:
    def __init__(self, target, security="plain", data="epsv"):
        self.t = target
        self.security = security
        self.args = ["-sS", "--fail", "--connect-timeout", "30", "--max-time", "240",
                     "-u", f"{target.user}:{target.password}"]
        host = "127.0.0.1"
        port = target.port
        scheme = "ftp"
        if security in ("explicit", "implicit"):
            host, extra = tls_host(target)
            self.args += ["--cacert", target.cafile, *extra]
            if security == "explicit":
                self.args.append("--ssl-reqd")
            else:
                scheme, port = "ftps", target.implicit_tls_port
        if data == "pasv":
            self.args.append("--disable-epsv")
        elif data == "active":
            self.args += ["-P", "-"]
        self.base = f"{scheme}://{host}:{port}"

    def url(self, path):
        return self.base + urllib.parse.quote(path)

    def __call__(self, *args, timeout=300):
        p = run(["curl", *self.args, *map(str, args)], timeout=timeout)
        p.out = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        return p


def ok(p):
    assert p.returncode == 0, f"curl exited {p.returncode}: {p.err}\n{p.out[-2000:]}"
    return p


# Active mode over TLS is left out: curl 7.88 fails it on its side ("sa_addr inet_ntop() failed with
# errno 97" after accepting the data connection, against any server); ftplib covers active + TLS.
MATRIX = [(s, d) for s in SECURITY for d in DATA if not (d == "active" and s != "plain")]


@pytest.mark.parametrize("security,data", MATRIX)
def test_upload_download_and_list(ftp_target, ftp_workdir, tmp_path, security, data):
    remote, local = ftp_workdir
    c = Curl(ftp_target, security, data)
    src = tmp_path / "src.bin"
    payload = write_random(src, 1_234_567)
    ok(c("--ftp-create-dirs", "-T", src, c.url(f"{remote}/new dir/up load.bin")))
    assert read_bytes(local / "new dir" / "up load.bin") == payload
    ok(c("-o", tmp_path / "back.bin", c.url(f"{remote}/new dir/up load.bin")))
    assert read_bytes(tmp_path / "back.bin") == payload
    # Zero bytes both ways.
    (tmp_path / "empty").write_bytes(b"")
    ok(c("-T", tmp_path / "empty", c.url(f"{remote}/empty")))
    assert (local / "empty").read_bytes() == b""
    ok(c("-o", tmp_path / "empty.back", c.url(f"{remote}/empty")))
    assert read_bytes(tmp_path / "empty.back") == b""
    # LIST and NLST (-l).
    listing = ok(c(c.url(f"{remote}/new dir/"))).out.splitlines()
    entries = parse_list(listing)
    assert list(entries) == ["up load.bin"] and entries["up load.bin"].group("size") == "1234567", listing
    names = ok(c("-l", c.url(f"{remote}/"))).out.split("\n")
    assert {"new dir", "empty"} <= {n.strip("\r") for n in names}, names


@pytest.mark.parametrize("method", ["multicwd", "nocwd", "singlecwd"])
def test_ftp_methods(ftp_target, ftp_workdir, tmp_path, method):
    remote, local = ftp_workdir
    deep = local / "a" / "b b" / "c"
    deep.mkdir(parents=True)
    payload = write_random(deep / "f.bin", 77_777)
    c = Curl(ftp_target, "explicit")
    c.args += ["--ftp-method", method]
    ok(c("-o", tmp_path / "f.bin", c.url(f"{remote}/a/b b/c/f.bin")))
    assert read_bytes(tmp_path / "f.bin") == payload
    ok(c("-T", tmp_path / "f.bin", c.url(f"{remote}/a/b b/c/g.bin")))
    assert read_bytes(deep / "g.bin") == payload
    if method == "multicwd":  # (curl creates directories only while it walks them one by one)
        ok(c("--ftp-create-dirs", "-T", tmp_path / "f.bin", c.url(f"{remote}/x/y z/g.bin")))
        assert read_bytes(local / "x" / "y z" / "g.bin") == payload
    names = ok(c("-l", c.url(f"{remote}/a/b b/c/"))).out.split()
    assert sorted(names) == ["f.bin", "g.bin"], names
    # A missing file fails (550 -> curl exit 78), a missing directory too (9 or 78).
    p = c("-o", tmp_path / "nope", c.url(f"{remote}/a/b b/c/nope"))
    assert p.returncode == 78, p.err
    p = c("-o", tmp_path / "nope", c.url(f"{remote}/no/such/dir/f.bin"))
    assert p.returncode in (9, 78), p.err


@pytest.mark.parametrize("security", ["plain", "explicit"])
def test_resume_download_and_upload(ftp_target, ftp_workdir, tmp_path, security):
    remote, local = ftp_workdir
    c = Curl(ftp_target, security)
    payload = write_random(local / "r.bin", 2_000_003)
    part = tmp_path / "r.part"
    part.write_bytes(payload[:777_777])
    ok(c("-C", "-", "-o", part, c.url(f"{remote}/r.bin")))  # REST 777777 + RETR
    assert read_bytes(part) == payload
    # Upload resume: curl asks SIZE, then APPE the rest.
    (local / "u.bin").write_bytes(payload[:1_000_000])
    src = tmp_path / "u.bin"
    src.write_bytes(payload)
    ok(c("-C", "-", "-T", src, c.url(f"{remote}/u.bin")))
    assert read_bytes(local / "u.bin") == payload


def test_quote_commands(ftp_target, ftp_workdir, tmp_path):
    remote, local = ftp_workdir
    (local / "old").write_bytes(b"q")
    c = Curl(ftp_target, "explicit")
    ok(c("-Q", f"MKD {remote}/made", "-Q", f"RNFR {remote}/old", "-Q", f"RNTO {remote}/made/new",
         "-Q", f"SITE CHMOD 600 {remote}/made/new", c.url(f"{remote}/")))
    assert (local / "made" / "new").read_bytes() == b"q"
    assert os.stat(local / "made" / "new").st_mode & 0o777 == 0o600
    p = c("-Q", f"DELE {remote}/missing", c.url(f"{remote}/"))
    assert p.returncode == 21, p.err  # CURLE_QUOTE_ERROR


@pytest.mark.parametrize("security", ["explicit", "implicit"])
def test_a_wrong_ca_is_rejected_and_k_accepts_anything(ftp_target, ftp_workdir, tmp_path, security):
    remote, local = ftp_workdir
    (local / "f").write_bytes(b"tls")
    other_cert, _ = make_cert(tmp_path / "other")
    c = Curl(ftp_target, security)
    i = c.args.index("--cacert")
    c.args[i + 1] = other_cert
    p = c("-o", tmp_path / "f", c.url(f"{remote}/f"))
    assert p.returncode in (35, 60), f"curl accepted a certificate the CA did not sign: {p.returncode} {p.err}"
    # -k: no verification at all.
    c = Curl(ftp_target, security)
    i = c.args.index("--cacert")
    del c.args[i:i + 2]
    c.args.append("-k")
    ok(c("-o", tmp_path / "f", c.url(f"{remote}/f")))
    assert read_bytes(tmp_path / "f") == b"tls"


def test_wrong_password_and_plain_ftp_with_ssl_reqd_against_tls_off(ftp_target, make_ftp_target, tmp_path):
    c = Curl(ftp_target, "plain")
    c.args[c.args.index("-u") + 1] = f"{ftp_target.user}:wrong"
    p = c(c.url("/"))
    assert p.returncode == 67, p.err  # CURLE_LOGIN_DENIED
    off = make_ftp_target(tls="off")
    c = Curl(off, "plain")
    ok(c("-l", c.url("/")))
    c.args.append("--ssl-reqd")
    p = c("-l", c.url("/"))
    assert p.returncode == 64, p.err  # CURLE_USE_SSL_FAILED
