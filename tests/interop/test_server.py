"""`wharf serve` itself: first start, host keys, graceful stop, login-failure timing, logs."""

import base64
import hashlib
import os
import re
import signal
import stat
import statistics
import time
import uuid

import paramiko
import pytest

from conftest import ALICE_PASSWORD, paramiko_transport
from helpers import wait_until


def host_key_fingerprint(port, key_type):
    t = paramiko.Transport(("127.0.0.1", port))
    t.get_security_options().key_types = [key_type]
    t.start_client(timeout=30)
    key = t.get_remote_server_key()
    t.close()
    assert key.get_name() == key_type
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def test_first_start_creates_user_and_host_keys(make_server):
    srv = make_server(add_alice=False)
    log = srv.log()
    m = re.search(r"password:\s*\"?([^\s\"']+)", log)
    assert m, f"no generated password in the log:\n{log}"
    password = m.group(1)
    # Host keys: kept in the data dir, mode 0600.
    for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
        p = os.path.join(srv.data_dir, name)
        assert os.path.isfile(p), f"{name} missing"
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600, f"{name} mode {oct(os.stat(p).st_mode)}"
    # Fingerprints logged in ssh-keygen -l form.
    fp_ed = host_key_fingerprint(srv.port, "ssh-ed25519")
    fp_ec = host_key_fingerprint(srv.port, "ecdsa-sha2-nistp256")
    assert re.search(rf"256 {re.escape(fp_ed)} \(ED25519\)", log), f"{fp_ed} not logged:\n{log}"
    assert re.search(rf"256 {re.escape(fp_ec)} \(ECDSA\)", log), f"{fp_ec} not logged:\n{log}"
    # The generated user works, with home DIR/files/wharf shown as "/".
    t = paramiko_transport(srv, password=password, username="wharf")
    c = paramiko.SFTPClient.from_transport(t)
    assert c.normalize(".") == "/"
    with c.open("/hello.txt", "w") as f:
        f.write(b"hi")
    t.close()
    assert open(os.path.join(srv.data_dir, "files", "wharf", "hello.txt"), "rb").read() == b"hi"
    # The password is not stored in clear anywhere in the data dir.
    for root, _, files in os.walk(srv.data_dir):
        for n in files:
            with open(os.path.join(root, n), "rb") as f:
                assert password.encode() not in f.read(), f"clear password found in {n}"
    # A restart keeps the host keys and does not create a new user/password.
    assert srv.stop() == 0
    before = len(srv.log())
    srv.start()
    assert host_key_fingerprint(srv.port, "ssh-ed25519") == fp_ed
    assert host_key_fingerprint(srv.port, "ecdsa-sha2-nistp256") == fp_ec
    assert "password:" not in srv.log()[before:], "a second start printed a new password"
    t = paramiko_transport(srv, password=password, username="wharf")
    t.close()


def test_sigint_stops_gracefully(make_server):
    srv = make_server()
    assert srv.stop(signal.SIGINT) == 0


def test_sigterm_with_an_open_session_stops_gracefully(make_server):
    srv = make_server(extra_args=["--shutdown-grace", "3"])
    t = paramiko_transport(srv)
    c = paramiko.SFTPClient.from_transport(t)
    f = c.open("/open-at-shutdown.txt", "w")
    f.write(b"data")
    f.flush()
    start = time.monotonic()
    rc = srv.stop(signal.SIGTERM)
    assert rc == 0, f"exit {rc}:\n{srv.log()[-3000:]}"
    assert time.monotonic() - start < 10
    t.close()


def _time_failed_login(port, user, password):
    t = paramiko.Transport(("127.0.0.1", port))
    t.start_client(timeout=30)
    start = time.monotonic()
    with pytest.raises(paramiko.AuthenticationException) as ei:
        t.auth_password(user, password)
    elapsed = time.monotonic() - start
    t.close()
    return elapsed, type(ei.value)


def test_failed_login_delay_is_the_same_for_unknown_user_and_bad_password(make_server):
    srv = make_server(login_failure_delay="1.0")
    unknown, bad = [], []
    kinds = set()
    for i in range(3):
        e, k = _time_failed_login(srv.port, f"nosuchuser{i}", "x-wrong-password")
        unknown.append(e)
        kinds.add(k)
        e, k = _time_failed_login(srv.port, "alice", "x-wrong-password")
        bad.append(e)
        kinds.add(k)
    mu, mb = statistics.median(unknown), statistics.median(bad)
    assert len(kinds) == 1, f"different failures for unknown user and bad password: {kinds}"
    assert mu >= 0.8 and mb >= 0.8, f"failure delay too short: unknown {unknown}, bad password {bad}"
    assert abs(mu - mb) < 0.4, f"timing differs: unknown {unknown}, bad password {bad}"
    # A good login is not delayed.
    start = time.monotonic()
    t = paramiko_transport(srv, password=ALICE_PASSWORD)
    t.close()
    assert time.monotonic() - start < mu + 5


def test_log_lines_and_no_password_in_log(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    name = f"logcheck-{uuid.uuid4().hex[:8]}.bin"
    size = 123457
    (tmp_path / name).write_bytes(os.urandom(size))
    t = paramiko_transport(wharf_server)
    c = paramiko.SFTPClient.from_transport(t)
    c.put(str(tmp_path / name), f"{remote}/{name}")
    c.close()
    t.close()
    t = paramiko_transport(wharf_server, password=wharf_server.password)
    paramiko.SFTPClient.from_transport(t).listdir("/")
    t.close()
    wrong = f"wrong-pw-{uuid.uuid4().hex}"
    tt = paramiko.Transport(("127.0.0.1", wharf_server.port))
    tt.start_client(timeout=30)
    with pytest.raises(paramiko.AuthenticationException):
        tt.auth_password("alice", wrong)
    tt.close()

    def file_line():
        return [l for l in wharf_server.log().splitlines() if name in l and str(size) in l]

    assert wait_until(file_line, 10), f"no per-file close line with {name} and {size} bytes:\n" \
                                      + wharf_server.log()[-5000:]
    log = wharf_server.log()
    lines = log.splitlines()
    conn_key = [l for l in lines if "alice" in l and "127.0.0.1" in l and re.search(r"(?i)public[- ]?key", l)]
    assert conn_key, "no connection line with peer, user and auth method (publickey)"
    conn_pw = [l for l in lines if "alice" in l and "127.0.0.1" in l and re.search(r"(?i)password", l)]
    assert conn_pw, "no connection line with peer, user and auth method (password)"
    assert any(re.search(r"(?i)session.*(open|start)", l) for l in lines), "no session open line"
    assert any(re.search(r"(?i)session.*(clos|end)", l) for l in lines), "no session close line"
    assert ALICE_PASSWORD not in log, "the password appears in the log"
    assert wrong not in log, "a rejected password appears in the log"
