"""`wharf` client authentication and host keys against OpenSSH's sshd and `wharf serve`:
unknown / changed / accepted host keys, hashed and default known_hosts, wrong password and wrong
key, RSA and encrypted keys refused, ECDSA keys, passwords from stdin and WHARF_PASSWORD."""

import os
import re
import socket
import threading
import time
import uuid

from client_fixtures import failed, fingerprints, keygen, ok, target  # noqa: F401
from conftest import ALICE_PASSWORD
from helpers import run

AUTH_WORDS = re.compile(r"auth|denied|rejected|permission", re.I)


def _one_line(p):
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{p.stderr}"
    assert not re.search(r"Fatal error|Stack dump|backtrace|\.swift:\d+", p.stderr), p.stderr
    return lines[0]


def _listing_works(target, **kw):
    target.path("marker.txt").write_bytes(b"m")
    p = target.wharf("ls", target.url(), **kw)
    return p


# --------------------------------------------------------------------------
# host keys
# --------------------------------------------------------------------------
def test_unknown_host_key_fails_with_fingerprint(target, tmp_path):
    want = target.host_fingerprints()
    for kh in (tmp_path / "empty_known_hosts", tmp_path / "does-not-exist"):
        if kh.name.startswith("empty"):
            kh.write_text("")
        p = failed(target.wharf("ls", target.url(), known_hosts=False, options=["--known-hosts", kh]),
                   f"ls with {kh.name}")
        shown = re.findall(r"SHA256:[A-Za-z0-9+/]+", p.stderr)
        assert shown, f"no SHA256 fingerprint on stderr:\n{p.stderr}"
        assert set(shown) & set(want), f"fingerprint {shown} is not the server's ({want}, ssh-keygen -l):\n{p.stderr}"
        assert "CHANGED" not in p.stderr
        if kh.name.startswith("empty"):
            assert kh.read_text() == "", "an unknown key was added without --accept-new-host-key"
        else:
            assert not kh.exists(), "an unknown key was added without --accept-new-host-key"


def test_changed_host_key_fails_loudly(target, tmp_path):
    kh = tmp_path / "known_hosts"
    fake_ed = keygen(tmp_path / "fake_ed25519")
    fake_ec = keygen(tmp_path / "fake_ecdsa", "ecdsa")
    lines = []
    for pub in (fake_ed + ".pub", fake_ec + ".pub"):
        kind, b64 = open(pub).read().split()[:2]
        lines.append(f"[127.0.0.1]:{target.port} {kind} {b64}")
    kh.write_text("\n".join(lines) + "\n")
    before = kh.read_text()
    for extra in ([], ["--accept-new-host-key"]):
        p = failed(target.wharf("ls", target.url(), known_hosts=False, options=["--known-hosts", kh, *extra]),
                   f"ls with a changed host key {extra}")
        assert "CHANGED" in p.stderr, p.stderr
        shown = re.findall(r"SHA256:[A-Za-z0-9+/]+", p.stderr)
        assert set(shown) & set(target.host_fingerprints()), f"the offered key's fingerprint is not shown:\n{p.stderr}"
        assert kh.read_text() == before, "known_hosts was modified on a changed key"


def test_accept_new_host_key_adds_entry(target, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text("")
    ok(_listing_works(target, known_hosts=False, options=["--known-hosts", kh, "--accept-new-host-key"]),
       "ls --accept-new-host-key")
    p = run(["ssh-keygen", "-F", f"[127.0.0.1]:{target.port}", "-f", str(kh)])
    assert p.returncode == 0, f"no entry for [127.0.0.1]:{target.port} added:\n{kh.read_text()}"
    assert set(fingerprints(kh)) <= set(target.host_fingerprints()), kh.read_text()
    # A second run, without the flag, trusts the added key and adds nothing more.
    content = kh.read_text()
    p = ok(_listing_works(target, known_hosts=False, options=["--known-hosts", kh]), "ls after accepting")
    assert "marker.txt" in p.stdout.splitlines()
    assert kh.read_text() == content


def test_hashed_known_hosts_entry(target, tmp_path):
    kh = tmp_path / "known_hosts"
    kh.write_text(target.known_hosts.read_text())
    run(["ssh-keygen", "-q", "-H", "-f", str(kh)], check=True)
    assert "|1|" in kh.read_text() and "127.0.0.1" not in kh.read_text()
    p = ok(_listing_works(target, known_hosts=False, options=["--known-hosts", kh]), "ls with hashed known_hosts")
    assert "marker.txt" in p.stdout.splitlines()


def test_default_known_hosts_in_home(target):
    default = target.home_env / ".ssh" / "known_hosts"
    default.write_text("")
    p = failed(_listing_works(target, known_hosts=False), "ls with an empty ~/.ssh/known_hosts")
    assert re.search(r"SHA256:", p.stderr), p.stderr
    default.write_text(target.known_hosts.read_text())
    p = ok(_listing_works(target, known_hosts=False), "ls with ~/.ssh/known_hosts")
    assert "marker.txt" in p.stdout.splitlines()


def test_insecure_no_host_key_check_warns(target):
    p = ok(_listing_works(target, known_hosts=False, options=["--insecure-no-host-key-check"]),
           "ls --insecure-no-host-key-check")
    assert "marker.txt" in p.stdout.splitlines()
    assert re.search(r"warn|insecure|not (be )?(checked|verified|authenticated)", p.stderr, re.I), \
        f"no warning on stderr:\n{p.stderr}"
    assert not (target.home_env / ".ssh" / "known_hosts").exists() or \
        (target.home_env / ".ssh" / "known_hosts").read_text() == ""


# --------------------------------------------------------------------------
# credentials
# --------------------------------------------------------------------------
def test_wrong_key_fails_clearly(target, tmp_path):
    other = keygen(tmp_path / "other_ed25519")
    p = failed(target.wharf("ls", target.url(), key=False, options=["-i", other]), "ls with a wrong key")
    line = _one_line(p)
    assert AUTH_WORDS.search(line), f"unclear message: {line!r}"


def test_wrong_password_fails_clearly(target):
    p = failed(target.wharf("ls", target.url(), key=False, options=["--password-stdin"], input="wrong-password\n"),
               "ls with a wrong password")
    line = _one_line(p)
    assert AUTH_WORDS.search(line), f"unclear message: {line!r}"
    assert "wrong-password" not in p.stderr, "the password was echoed"
    p = failed(target.wharf("ls", target.url(), key=False, env={"WHARF_PASSWORD": "wrong-password"}),
               "ls with a wrong WHARF_PASSWORD")
    line = _one_line(p)
    assert AUTH_WORDS.search(line), f"unclear message: {line!r}"


def test_password_login(wharf_server, tmp_path_factory, request):
    """Password login (only `wharf serve` has one here: the test sshd allows keys only, and
    root's password is not ours to set): --password-stdin and WHARF_PASSWORD."""
    from client_fixtures import Target
    t = Target("wharf", wharf_server, tmp_path_factory.mktemp("client-pw"))
    t.make_workdir(request.node.name)
    try:
        t.path("pw.txt").write_bytes(b"pw")
        p = ok(t.wharf("ls", t.url(), key=False, options=["--password-stdin"], input=ALICE_PASSWORD + "\n"),
               "ls --password-stdin")
        assert p.stdout.splitlines() == ["pw.txt"]
        p = ok(t.wharf("ls", t.url(), key=False, env={"WHARF_PASSWORD": ALICE_PASSWORD}), "ls with WHARF_PASSWORD")
        assert p.stdout.splitlines() == ["pw.txt"]
    finally:
        t.remove_workdir()


def test_rsa_key_refused_naming_supported_types(target, tmp_path):
    rsa = keygen(tmp_path / "id_rsa", "rsa")
    p = failed(target.wharf("ls", target.url(), key=False, options=["-i", rsa]), "ls -i RSA key")
    msg = p.stderr.lower()
    assert "ed25519" in msg and "ecdsa" in msg, f"the message does not name ed25519 and ECDSA:\n{p.stderr}"
    _one_line(p)


def test_encrypted_key_refused_naming_supported_types(target, tmp_path):
    enc = keygen(tmp_path / "id_enc", "ed25519", passphrase="sekrit-passphrase")
    p = failed(target.wharf("ls", target.url(), key=False, options=["-i", enc]), "ls -i encrypted key")
    msg = p.stderr.lower()
    assert "encrypt" in msg or "passphrase" in msg, p.stderr
    assert "ed25519" in msg and "ecdsa" in msg, f"the message does not name ed25519 and ECDSA:\n{p.stderr}"
    _one_line(p)


def test_ecdsa_key_login(target, tmp_path):
    ec = keygen(tmp_path / "id_ecdsa", "ecdsa")
    if target.kind == "openssh":
        with open(target.server.base / "authorized_keys", "a") as f:
            f.write(open(ec + ".pub").read())
        url = target.url()
        where = target.path()
    else:
        name = "ec" + uuid.uuid4().hex[:10]
        home = target.server.base / f"home-{name}"
        p = target.server.add_user(name, keys=[ec + ".pub"], home=str(home))
        assert p.returncode == 0, p.stderr
        url = f"sftp://{name}@127.0.0.1:{target.port}/"
        where = home
    (where / "ecdsa-ok.txt").write_bytes(b"ok")
    p = ok(target.wharf("ls", url, key=False, options=["-i", ec]), "ls with an ECDSA key")
    assert "ecdsa-ok.txt" in p.stdout.splitlines()


def test_connect_timeout_on_silent_server(tmp_path):
    """A server that accepts TCP and never speaks: --connect-timeout ends the wait."""
    from client_fixtures import wharf_bin_path
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    port = srv.getsockname()[1]
    held = []
    stop = threading.Event()

    def accept():
        srv.settimeout(0.5)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    try:
        env = dict(os.environ, HOME=str(tmp_path))
        t0 = time.monotonic()
        p = run([wharf_bin_path(), "ls", "--insecure-no-host-key-check", "--connect-timeout", "2",
                 "--retries", "0", f"sftp://u@127.0.0.1:{port}/"], timeout=60, env=env)
        elapsed = time.monotonic() - t0
        assert p.returncode != 0
        assert elapsed < 20, f"--connect-timeout 2 took {elapsed:.1f}s"
        assert re.search(r"time", p.stderr.decode(errors="replace"), re.I), p.stderr
    finally:
        stop.set()
        th.join()
        for c in held:
            c.close()
        srv.close()
