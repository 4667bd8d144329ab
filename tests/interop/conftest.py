"""Fixtures that start the real Wharf server (and OpenSSH's sshd where a test needs it)
on free loopback ports, with throwaway data directories and keys."""

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import free_port, run, wait_for_line  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ALICE_PASSWORD = "alice-secret-pw"
START_TIMEOUT = 60
STOP_TIMEOUT = 10


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if the test runner dies, so no server outlives it."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _wharf_bin():
    b = os.environ.get("WHARF_BIN") or str(REPO / ".build" / "debug" / "wharf")
    return os.path.abspath(b)


@pytest.fixture(scope="session")
def wharf_bin():
    b = _wharf_bin()
    assert os.path.isfile(b) and os.access(b, os.X_OK), f"wharf binary not found at {b} (set WHARF_BIN)"
    return b


@pytest.fixture
def port():
    return free_port()


_SERVE_HELP = {}


def serve_help(bin_path):
    """`wharf serve --help` of a binary (cached): tells which listener and limit flags it has, so that
    the fixtures work both with a binary that serves FTP and with one that does not yet."""
    if bin_path not in _SERVE_HELP:
        p = run([bin_path, "serve", "--help"], timeout=60)
        _SERVE_HELP[bin_path] = (p.stdout + p.stderr).decode(errors="replace")
    return _SERVE_HELP[bin_path]


def _mentions(args, flag):
    return any(a == flag or str(a).startswith(flag + "=") for a in args)


def keygen(path, kind="ed25519"):
    path = Path(path)
    if path.exists():
        path.unlink()
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)]
    if kind == "ecdsa":
        args += ["-b", "256"]
    run(args, check=True)
    return str(path)


class WharfServer:
    """A `wharf serve` process on a free loopback port."""

    def __init__(self, bin_path, base, add_alice=True, login_failure_delay="0.2", log_level="debug",
                 extra_args=()):
        self.bin = bin_path
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.data_dir = str(self.base / "data")
        self.user = "alice"
        self.password = ALICE_PASSWORD
        self.key = str(self.base / "alice_ed25519")
        self.home = str(Path(self.data_dir) / "files" / "alice")
        self.port = None
        self.proc = None
        self.log_path = str(self.base / "server.log")
        self.add_alice = add_alice
        self.alice_added = False
        self.login_failure_delay = login_failure_delay
        self.log_level = log_level
        self.extra_args = list(extra_args)
        # FTP (when the binary has it): explicit-TLS and implicit-TLS listeners on free ports.
        self.ftp_port = None
        self.ftps_port = None
        self.cafile = str(Path(self.data_dir) / "tls" / "cert.pem")
        self._auto_args = []

    @property
    def extra_args(self):
        """The caller's extra arguments plus the ones `start` added (FTP listeners on the ports
        chosen then, raised connection limits): whoever restarts the server with `extra_args`
        (client_fixtures' restart on the same port) gets the same listeners back."""
        return self._extra_args + self._auto_args

    @extra_args.setter
    def extra_args(self, value):
        self._extra_args = list(value)
        self._auto_args = []

    def _default_args(self):
        """Flags added unless the caller's extra_args name them: FTP listeners on free loopback
        ports, and connection limits far above what the tests open from 127.0.0.1."""
        help_text = serve_help(self.bin)
        given = self._extra_args
        args = []
        self.ftp_port = self.ftps_port = None
        if "--ftp-listen" in help_text and not _mentions(given, "--ftp-listen"):
            self.ftp_port = free_port()
            args += ["--ftp-listen", f"127.0.0.1:{self.ftp_port}"]
        tls_off = any(a == "--ftp-tls" and i + 1 < len(given) and given[i + 1] == "off" or a == "--ftp-tls=off"
                      for i, a in enumerate(given))
        # (implicit TLS cannot go with --ftp-tls off: the server refuses that combination)
        if "--ftps-listen" in help_text and not _mentions(given, "--ftps-listen") and not tls_off:
            self.ftps_port = free_port()
            args += ["--ftps-listen", f"127.0.0.1:{self.ftps_port}"]
        for flag, value in (("--max-connections-per-ip", "1000"), ("--max-connections", "4000")):
            if flag in help_text and not _mentions(given, flag):
                args += [flag, value]
        return args

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def add_user(self, name, password=None, keys=(), home=None):
        args = [self.bin, "user", "add", name, "--data-dir", self.data_dir]
        if password is not None:
            args.append("--password-stdin")
        for k in keys:
            args += ["--authorized-key", k]
        if home is not None:
            args += ["--home", home]
        return run(args, input=(password + "\n").encode() if password is not None else b"", timeout=120)

    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        if self.add_alice and not self.alice_added:
            keygen(self.key)
            p = self.add_user("alice", password=self.password, keys=[self.key + ".pub"])
            assert p.returncode == 0, f"wharf user add alice failed: {p.stderr.decode(errors='replace')}"
            self.alice_added = True
        # Retry on the (unlikely) race of a free port being taken before bind.
        for _ in range(3):
            self.port = free_port()
            self._auto_args = self._default_args()
            log_start = len(self.log())
            logf = open(self.log_path, "ab")
            args = [self.bin, "serve", "--data-dir", self.data_dir,
                    "--sftp-listen", f"127.0.0.1:{self.port}", "--log-level", self.log_level,
                    *self.extra_args]
            if self.login_failure_delay is not None:
                args += ["--login-failure-delay", str(self.login_failure_delay)]
            self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                         cwd=str(self.base), preexec_fn=_die_with_parent)
            logf.close()
            m = wait_for_line(self.log, rf"SFTP listening on 127\.0\.0\.1:{self.port}\b",
                              START_TIMEOUT, self.proc)
            for name, port in (("FTP", self.ftp_port), ("FTPS", self.ftps_port)):
                if m and port is not None:
                    m = wait_for_line(lambda: self.log()[log_start:],
                                      rf"(?<![A-Z]){name} listening on 127\.0\.0\.1:{port}\b",
                                      START_TIMEOUT, self.proc)
            if m:
                if self.add_alice:
                    os.makedirs(self.home, exist_ok=True)
                return self
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"wharf serve did not report listening within {START_TIMEOUT}s:\n"
                                     + self.log()[-4000:])
            if "address already in use" not in self.log().lower():
                break
        raise AssertionError(f"wharf serve exited with {self.proc.returncode}:\n{self.log()[-4000:]}")

    def stop(self, sig=signal.SIGTERM):
        """Send `sig` and return the exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


@pytest.fixture(scope="session")
def _main_server(wharf_bin, tmp_path_factory):
    """One server for the whole session; tests work in their own subdirectories."""
    srv = WharfServer(wharf_bin, tmp_path_factory.mktemp("wharf-main")).start()
    yield srv
    rc = srv.stop()
    assert rc == 0, f"wharf serve did not exit cleanly on SIGTERM within {STOP_TIMEOUT}s (rc={rc}):\n" \
                    + srv.log()[-4000:]


@pytest.fixture
def wharf_server(_main_server):
    """The shared server. If an earlier test crashed it, it is restarted (same data dir) so that
    one crash fails the test that caused it, not every test after it."""
    srv = _main_server
    if srv.proc.poll() is not None:
        srv.start()
    log_start = len(srv.log())
    yield srv
    if srv.proc.poll() is not None:
        tail = srv.log()[log_start:][-4000:]
        pytest.fail(f"wharf serve died during this test (exit {srv.proc.returncode}):\n{tail}", pytrace=False)


@pytest.fixture
def make_server(wharf_bin, tmp_path_factory):
    """Factory for extra, per-test servers (stopped at teardown)."""
    servers = []

    def factory(**kw):
        srv = WharfServer(wharf_bin, tmp_path_factory.mktemp("wharf-extra"), **kw).start()
        servers.append(srv)
        return srv

    yield factory
    for s in servers:
        s.stop()


@pytest.fixture
def workdir(wharf_server, request):
    """A fresh directory inside alice's home; returns (remote_path, local_path)."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:80]
    local = Path(wharf_server.home) / name
    if local.exists():
        shutil.rmtree(local)
    local.mkdir(parents=True)
    return "/" + name, local


# --------------------------------------------------------------------------
# OpenSSH sshd (for `wharf sftp-server` as a subsystem)
# --------------------------------------------------------------------------
class SSHD:
    def __init__(self, base, subsystem, extra_config=""):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.subsystem = subsystem
        self.extra_config = extra_config
        self.user = "root"
        self.key = str(self.base / "client_ed25519")
        self.port = None
        self.proc = None
        self.log_path = str(self.base / "sshd.log")

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        os.makedirs("/run/sshd", exist_ok=True)
        hostkey = keygen(self.base / "host_ed25519")
        keygen(self.key)
        shutil.copy(self.key + ".pub", self.base / "authorized_keys")
        self.port = free_port()
        cfg = self.base / "sshd_config"
        cfg.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {hostkey}\n"
            f"AuthorizedKeysFile {self.base / 'authorized_keys'}\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin yes\n"
            f"PidFile {self.base / 'sshd.pid'}\n"
            f"Subsystem sftp {self.subsystem}\n"
            + self.extra_config
        )
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)],
                                     stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     preexec_fn=_die_with_parent)
        logf.close()
        m = wait_for_line(self.log, rf"Server listening on 127\.0\.0\.1 port {self.port}", 30, self.proc)
        assert m, f"sshd did not start:\n{self.log()}"
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def make_sshd(tmp_path_factory):
    daemons = []

    def factory(subsystem, extra_config=""):
        """`extra_config`: sshd_config lines appended (Ciphers, MACs, RekeyLimit...)."""
        d = SSHD(tmp_path_factory.mktemp("sshd"), subsystem, extra_config).start()
        daemons.append(d)
        return d

    yield factory
    for d in daemons:
        d.stop()


# --------------------------------------------------------------------------
# `wharf sftp-server` in direct mode
# --------------------------------------------------------------------------
@pytest.fixture
def sftp_server_argv(wharf_bin):
    """The command that runs the drop-in sftp-server (argv list)."""
    return [wharf_bin, "sftp-server"]


@pytest.fixture
def sftp_server_wrapper(wharf_bin, tmp_path):
    """Factory: a one-word script that execs `wharf sftp-server ARGS...` (for `sftp -D`)."""
    counter = [0]

    def make(*args):
        counter[0] += 1
        w = tmp_path / f"wharf-sftp-server-{counter[0]}"
        quoted = " ".join("'" + str(a).replace("'", "'\\''") + "'" for a in args)
        w.write_text(f"#!/bin/sh\nexec '{wharf_bin}' sftp-server {quoted}\n")
        w.chmod(0o755)
        return w

    return make


# --------------------------------------------------------------------------
# paramiko / asyncssh connections to the main server
# --------------------------------------------------------------------------
def paramiko_transport(server, password=None, key=None, username=None):
    import paramiko
    t = paramiko.Transport(("127.0.0.1", server.port))
    t.banner_timeout = 30
    t.start_client(timeout=30)
    user = username or server.user
    if password is not None:
        t.auth_password(user, password)
    else:
        pkey = paramiko.Ed25519Key.from_private_key_file(key or server.key)
        t.auth_publickey(user, pkey)
    assert t.is_authenticated()
    return t


@pytest.fixture
def transport(wharf_server):
    t = paramiko_transport(wharf_server)
    yield t
    t.close()


@pytest.fixture
def sftp(transport):
    import paramiko
    c = paramiko.SFTPClient.from_transport(transport)
    yield c
    c.close()

