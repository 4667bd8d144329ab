"""lftp against the FTP server over AUTH TLS with protected data: `mirror -R` then `mirror` of a
1,000-file tree with UTF-8 names and spaces (compared by content hash), implicit TLS (ftps://),
and the server certificate checked with ssl:ca-file."""

import os
import uuid

from client_fixtures import UTF8_NAMES, count_files, make_tree, tree_digest
from ftp_fixtures import _pyftpdlib_main, ftp_target, ftp_workdir, make_cert, make_ftp_target  # noqa: F401
from helpers import run, write_random

LFTP_TIMEOUT = 300


def lftp(target, commands, tmp_path, url=None, settings=()):
    """Runs lftp with a script; returns the CompletedProcess (text)."""
    script = tmp_path / f"lftp-{uuid.uuid4().hex[:8]}.x"
    lines = [
        "set cmd:fail-exit true",
        "set net:max-retries 1",
        "set net:timeout 30",
        "set net:reconnect-interval-base 1",
        "set xfer:clobber true",
        "set ftp:ssl-force true",
        "set ftp:ssl-protect-data true",
        "set ftp:ssl-protect-list true",
        "set ssl:verify-certificate no",
        "set ftp:passive-mode true",
        *settings,
        f"open -u {target.user},{target.password} {url or f'ftp://127.0.0.1:{target.port}'}",
        *commands,
    ]
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = dict(os.environ, LC_ALL="C.UTF-8", HOME=str(tmp_path))
    p = run(["lftp", "-f", str(script)], timeout=LFTP_TIMEOUT, env=env, cwd=str(tmp_path))
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def ok(p):
    assert p.returncode == 0, f"lftp exited {p.returncode}\nstdout:\n{p.out[-3000:]}\nstderr:\n{p.err[-3000:]}"
    return p


def q(path):
    return '"' + str(path).replace('"', '\\"') + '"'


def test_mirror_up_and_down_a_1000_file_tree(ftp_target, ftp_workdir, tmp_path):
    remote, local = ftp_workdir
    src = make_tree(tmp_path / "src", files=1000, seed="lftp")
    want = tree_digest(src)
    assert count_files(src) == 1000
    ok(lftp(ftp_target, [f"mirror -R --parallel=4 {q(src)} {q(remote + '/up tree')}"], tmp_path))
    assert tree_digest(local / "up tree") == want
    for name in UTF8_NAMES:
        assert (local / "up tree" / "ünïcödé dir" / name).is_file(), name
    back = tmp_path / "back"
    ok(lftp(ftp_target, [f"mirror --parallel=4 {q(remote + '/up tree')} {q(back)}"], tmp_path))
    assert tree_digest(back) == want
    # A second mirror -R has nothing to send; a changed file is sent again.
    (src / "dir one" / "changed.bin").write_bytes(b"changed" * 1000)
    p = ok(lftp(ftp_target, [f"mirror -R --parallel=4 --verbose {q(src)} {q(remote + '/up tree')}"], tmp_path))
    assert tree_digest(local / "up tree") == tree_digest(src)
    assert "changed.bin" in p.out, p.out[-2000:]


def test_implicit_tls_get_put_and_ls(ftp_target, ftp_workdir, tmp_path):
    remote, local = ftp_workdir
    payload = write_random(tmp_path / "up file.bin", 654_321)
    url = f"ftps://127.0.0.1:{ftp_target.implicit_tls_port}"
    p = ok(lftp(ftp_target, [f"cd {q(remote)}", f"put {q(tmp_path / 'up file.bin')}", "cls -1",
                             f"get {q('up file.bin')} -o {q(tmp_path / 'back.bin')}"], tmp_path, url=url))
    assert (local / "up file.bin").read_bytes() == payload
    assert (tmp_path / "back.bin").read_bytes() == payload
    assert "up file.bin" in p.out.splitlines(), p.out


def test_certificate_checked_with_ca_file(ftp_target, ftp_workdir, tmp_path):
    """ssl:ca-file with the server's certificate is accepted; another certificate is not. The host
    name is not checked (the generated certificate's names are not part of the contract)."""
    remote, local = ftp_workdir
    (local / "seen.txt").write_bytes(b"x")
    settings = ["set ssl:verify-certificate yes", "set ssl:check-hostname no"]
    p = ok(lftp(ftp_target, [f"cls -1 {q(remote)}"], tmp_path,
                settings=[*settings, f"set ssl:ca-file {q(ftp_target.cafile)}"]))
    assert "seen.txt" in p.out, p.out
    other, _ = make_cert(tmp_path / "other")
    p = lftp(ftp_target, [f"cls -1 {q(remote)}"], tmp_path, settings=[*settings, f"set ssl:ca-file {q(other)}"])
    assert p.returncode != 0 and "seen.txt" not in p.out, (p.out, p.err)
