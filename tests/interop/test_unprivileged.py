"""Wharf as an unprivileged user, the way people run it: `wharf serve` and the `wharf` client as
`nobody`. The rest of the suite runs as root in CI, which once hid a socket option (SO_DEBUG set
where TCP_NODELAY was meant) that only root may set: as any other user the server's first
connection stopped the server and every client connection failed."""

import ftplib
import hashlib
import io
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import paramiko
import pytest

from conftest import _die_with_parent
from helpers import free_port, run, wait_for_line

PASSWORD = "unprivileged-pw"
PAYLOAD = os.urandom(300_000)


def _nobody():
    return pwd.getpwnam("nobody")


def as_unprivileged(argv):
    """`argv` run as nobody when the tests run as root; as it is otherwise (already unprivileged)."""
    if os.geteuid() != 0:
        return list(argv)
    who = _nobody()
    return ["setpriv", f"--reuid={who.pw_uid}", f"--regid={who.pw_gid}", "--clear-groups", "--", *argv]


def _give_away(path):
    if os.geteuid() == 0:
        who = _nobody()
        os.chown(path, who.pw_uid, who.pw_gid)


def _effective_uid(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])
    raise AssertionError(f"no Uid line for process {pid}")


@pytest.fixture(scope="module")
def unprivileged_server(wharf_bin):
    """`wharf serve` as nobody, from a copy of the binary in a directory nobody can reach (the
    build tree may sit under a private directory), with SFTP and plain FTP listeners."""
    base = Path(tempfile.mkdtemp(prefix="wharf-unpriv-", dir="/tmp"))
    os.chmod(base, 0o755)
    binary = base / "wharf"
    shutil.copy(wharf_bin, binary)
    os.chmod(binary, 0o755)
    for sub in ("data", "client-home", "files"):
        (base / sub).mkdir(mode=0o700)
        _give_away(base / sub)
    data = base / "data"
    p = run(as_unprivileged([str(binary), "user", "add", "alice", "--data-dir", str(data), "--password-stdin",
                             "--home", str(base / "files" / "alice")]),
            input=(PASSWORD + "\n").encode(), timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    sftp_port, ftp_port = free_port(), free_port()
    log_path = base / "server.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            as_unprivileged([str(binary), "serve", "--data-dir", str(data), "--log-level", "info",
                             "--sftp-listen", f"127.0.0.1:{sftp_port}", "--ftp-listen", f"127.0.0.1:{ftp_port}",
                             "--ftps-listen", "off", "--login-failure-delay", "0"]),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=str(base), preexec_fn=_die_with_parent)
    read_log = lambda: log_path.read_text(errors="replace")  # noqa: E731
    try:
        assert wait_for_line(read_log, rf"(?<![A-Z])FTP listening on 127\.0\.0\.1:{ftp_port}\b", 60, proc), read_log()
        assert wait_for_line(read_log, rf"SFTP listening on 127\.0\.0\.1:{sftp_port}\b", 60, proc), read_log()
        # The point of the module: the server really is unprivileged.
        expected_uid = _nobody().pw_uid if os.geteuid() == 0 else os.geteuid()
        assert _effective_uid(proc.pid) == expected_uid != 0
        yield dict(base=base, binary=binary, proc=proc, sftp_port=sftp_port, ftp_port=ftp_port, log=read_log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def _sftp_round_trip(port, name):
    transport = paramiko.Transport(("127.0.0.1", port))
    try:
        transport.connect(username="alice", password=PASSWORD)
        sftp = paramiko.SFTPClient.from_transport(transport)
        sftp.putfo(io.BytesIO(PAYLOAD), name)
        got = io.BytesIO()
        sftp.getfo(name, got)
        return got.getvalue()
    finally:
        transport.close()


def _ftp_round_trip(port, name):
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", port, timeout=30)
        ftp.login("alice", PASSWORD)
        ftp.storbinary(f"STOR {name}", io.BytesIO(PAYLOAD))
        got = io.BytesIO()
        ftp.retrbinary(f"RETR {name}", got.write)
        return got.getvalue()


def test_unprivileged_server_serves_sftp_and_ftp(unprivileged_server):
    s = unprivileged_server
    # Several connections of each kind: the first one used to stop the server.
    for i in range(3):
        assert _sftp_round_trip(s["sftp_port"], f"sftp-{i}.bin") == PAYLOAD
        assert _ftp_round_trip(s["ftp_port"], f"ftp-{i}.bin") == PAYLOAD
    assert s["proc"].poll() is None, s["log"]()
    stored = s["base"] / "files" / "alice" / "ftp-2.bin"
    assert hashlib.sha256(stored.read_bytes()).digest() == hashlib.sha256(PAYLOAD).digest()
    assert "critical" not in s["log"](), s["log"]()[-3000:]


@pytest.mark.parametrize("scheme", ["sftp", "ftp"])
def test_unprivileged_client_puts_and_gets(unprivileged_server, scheme):
    s = unprivileged_server
    base = s["base"]
    local = base / "client-home" / f"up-{scheme}.bin"
    back = base / "client-home" / f"down-{scheme}.bin"
    local.write_bytes(PAYLOAD)
    _give_away(local)
    port = s["sftp_port"] if scheme == "sftp" else s["ftp_port"]
    url = f"{scheme}://alice@127.0.0.1:{port}/client-{scheme}.bin"
    env = dict(os.environ, HOME=str(base / "client-home"), LC_ALL="C.UTF-8")
    env.pop("WHARF_PASSWORD", None)
    host_key = ["--accept-new-host-key", "--known-hosts", str(base / "client-home" / "known_hosts")] \
        if scheme == "sftp" else []
    for argv in (["put", *host_key, "--password-stdin", str(local), url],
                 ["get", *host_key, "--password-stdin", url, str(back)]):
        p = subprocess.run(as_unprivileged([str(s["binary"]), *argv]), input=PASSWORD + "\n", capture_output=True,
                           text=True, timeout=120, env=env, cwd=str(base / "client-home"))
        assert p.returncode == 0, f"wharf {argv[0]} as an unprivileged user: {p.stderr}"
    assert back.read_bytes() == PAYLOAD
    assert s["proc"].poll() is None, s["log"]()
