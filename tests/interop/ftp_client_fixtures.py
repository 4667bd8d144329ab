"""Servers for the `wharf` FTP client tests (test_ftp_client*.py), and a runner for the client.

Every test takes a `peer`: one FTP server as the client sees it (scheme, port, login, the directory
on disk behind the login directory, its log), parametrized over

    vsftpd-ftpes            vsftpd 3 with TLS forced for logins and data (AUTH TLS, PROT P,
                            require_ssl_reuse=YES), LIST only (no MLSD), a passive port range
    vsftpd-ftps             a second vsftpd with implicit_ssl=YES
    pyftpdlib-ftp           pyftpdlib's plain FTPHandler (AUTH TLS is "500 not understood"), MLSD
    pyftpdlib-ftpes/-ftps   pyftpdlib's TLS_FTPHandler, explicit and implicit TLS, MLSD
    pyftpdlib-listonly-ftp  pyftpdlib without MLSD/MLST: `ls -l` style LIST
    pyftpdlib-dos-ftp       pyftpdlib without MLSD/MLST, LIST lines as IIS prints them (listing tests)
    wharf-ftp/-ftpes/-ftps  `wharf serve` (conftest's WharfServer) with --ftp-listen and --ftps-listen

All listen on 127.0.0.1 on free ports; each server is started once per session, the first time a
test needs it, and every test works in a fresh directory inside the login directory. The servers'
certificates are made by ftp_fixtures.make_cert (subjectAltName IP:127.0.0.1 and DNS:localhost),
so `--ca-file CERT` verifies with host 127.0.0.1.

vsftpd needs a local Unix user: `wharfftp` is created (useradd + chpasswd, idempotent) with a
password that needs %-escapes in a URL. vsftpd runs as that user, so files the tests create on the
server side are handed to it (chown) before every client run (`Peer.sync_owner`).

Servers' logs are parsed (`Peer.transfers`, `Peer.commands`) to check what went over the wire:
bytes per RETR/STOR (resume sends the rest only), the temporary upload name, EPSV vs EPRT."""

import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from conftest import WharfServer  # noqa: E402
from ftp_fixtures import PyftpdlibServer, free_port_range, make_cert  # noqa: E402
from helpers import free_port  # noqa: E402

CLIENT_TIMEOUT = 240
START_TIMEOUT = 30
MiB = 1024 * 1024

VSFTPD = "/usr/sbin/vsftpd"
VSFTPD_USER = "wharfftp"
# Characters that must be %-escaped in a URL (@ : space %), on purpose.
VSFTPD_PASSWORD = "Wh@rf:ftp pw%1"
# A second Wharf user with such a password, for the password-in-URL test.
WHARF_URL_USER = "bob"
WHARF_URL_PASSWORD = "p@ss:w/rd %ü"

TLS_SCHEMES = ("ftpes", "ftps")


# --------------------------------------------------------------------------
# what the tests may expect of each peer
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class PeerSpec:
    server: str            # which server fixture (several peers share a process)
    scheme: str            # ftp | ftpes | ftps
    mlsd: bool             # FEAT offers MLST (else the client must parse LIST)
    list_style: str        # "mlsd" | "unix" | "dos": what listings look like
    symlinks_visible: bool  # a symlink is listed as a symlink (LIST "l..." lines); MLSD here follows links
    permissions: bool      # mode bits in the default listing (LIST mode strings, MLSx unix.mode); pyftpdlib
                           # has unix.mode only after OPTS MLST, the IIS form never
    server_hash: bool      # FEAT offers HASH (else --verify reads the file back)
    kind: str              # vsftpd | pyftpdlib | wharf


PEER_SPECS = {
    "vsftpd-ftpes": PeerSpec("vsftpd", "ftpes", False, "unix", True, True, False, "vsftpd"),
    "vsftpd-ftps": PeerSpec("vsftpd-implicit", "ftps", False, "unix", True, True, False, "vsftpd"),
    "pyftpdlib-ftp": PeerSpec("pyftpdlib-plain", "ftp", True, "mlsd", False, False, False, "pyftpdlib"),
    "pyftpdlib-ftpes": PeerSpec("pyftpdlib-tls", "ftpes", True, "mlsd", False, False, False, "pyftpdlib"),
    "pyftpdlib-ftps": PeerSpec("pyftpdlib-tls", "ftps", True, "mlsd", False, False, False, "pyftpdlib"),
    "pyftpdlib-listonly-ftp": PeerSpec("pyftpdlib-listonly", "ftp", False, "unix", True, True, False, "pyftpdlib"),
    "pyftpdlib-dos-ftp": PeerSpec("pyftpdlib-dos", "ftp", False, "dos", False, False, False, "pyftpdlib"),
    "wharf-ftp": PeerSpec("wharf", "ftp", True, "mlsd", False, True, True, "wharf"),
    "wharf-ftpes": PeerSpec("wharf", "ftpes", True, "mlsd", False, True, True, "wharf"),
    "wharf-ftps": PeerSpec("wharf", "ftps", True, "mlsd", False, True, True, "wharf"),
}

# Every peer that takes uploads in `ls -l` or MLSD form (the DOS-listing one is for listings only).
PEERS = [p for p in PEER_SPECS if p != "pyftpdlib-dos-ftp"]
LISTING_PEERS = list(PEER_SPECS)
TLS_PEERS = [p for p in PEERS if PEER_SPECS[p].scheme in TLS_SCHEMES]
# The 100 MiB and 1,000-file cases: every server the issue names, each way it is reached
# (vsftpd over explicit TLS, pyftpdlib plain and TLS, wharf serve over ftp://, ftpes://, ftps://),
# and the LIST-only server for the tree.
BIG_PEERS = ["vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-ftpes", "wharf-ftp", "wharf-ftpes", "wharf-ftps"]
TREE_PEERS = ["vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-ftpes", "pyftpdlib-listonly-ftp", "wharf-ftp", "wharf-ftpes",
              "wharf-ftps"]
ACTIVE_PEERS = ["vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-ftpes", "wharf-ftp", "wharf-ftpes"]


# --------------------------------------------------------------------------
# log records
# --------------------------------------------------------------------------
@dataclass
class Transfer:
    verb: str      # RETR | STOR | APPE (vsftpd logs uploads as STOR, whatever the command)
    path: str      # as the server logs it (a filesystem path, or the jail path for Wharf)
    bytes: int     # bytes over the data connection in this transfer
    ok: bool

    @property
    def name(self):
        return self.path.rstrip("/").rsplit("/", 1)[-1]


_PYFTPDLIB_XFER = re.compile(r"\] (RETR|STOR|APPE|STOU) (.*) completed=([01]) bytes=(\d+) seconds=")
# (vsftpd leaves out "N bytes, " when N is 0)
_VSFTPD_XFER = re.compile(r'\] (OK|FAIL) (DOWNLOAD|UPLOAD): Client "[^"]*", "(.*?)", (?:(\d+) bytes, )?[\d.]+Kbyte/sec')
_WHARF_XFER = re.compile(r"FTP transfer (RETR|STOR|APPE|STOU) user=\S+ path=(.*) bytes=(\d+) duration=\S+ result=(\S+)")
_PYFTPDLIB_CMD = re.compile(r"CMD \[\d+\] (.*)$", re.M)
_VSFTPD_CMD = re.compile(r'FTP command: Client "[^"]*", "(.*)"$', re.M)


def parse_transfers(kind, text):
    out = []
    if kind == "pyftpdlib":
        for m in _PYFTPDLIB_XFER.finditer(text):
            out.append(Transfer(m.group(1), m.group(2), int(m.group(4)), m.group(3) == "1"))
    elif kind == "vsftpd":
        for m in _VSFTPD_XFER.finditer(text):
            out.append(Transfer("RETR" if m.group(2) == "DOWNLOAD" else "STOR", m.group(3), int(m.group(4) or 0),
                                m.group(1) == "OK"))
    elif kind == "wharf":
        for m in _WHARF_XFER.finditer(text):
            out.append(Transfer(m.group(1), m.group(2), int(m.group(3)), m.group(4) == "ok"))
    return out


# --------------------------------------------------------------------------
# vsftpd
# --------------------------------------------------------------------------
VSFTPD_USER_HOME = "/var/lib/wharf-ftp-test"


def ensure_system_user(name, password):
    """A local Unix user that PAM lets in (shell in /etc/shells), with `password` and an existing
    home directory (vsftpd changes into it before local_root: a missing one is "500 OOPS: cannot
    change directory", in plain text on the TLS connection); idempotent."""
    os.makedirs(VSFTPD_USER_HOME, exist_ok=True)
    os.chmod(VSFTPD_USER_HOME, 0o755)
    try:
        pwd.getpwnam(name)
    except KeyError:
        p = subprocess.run(["useradd", "-M", "-d", VSFTPD_USER_HOME, "-s", "/bin/bash", name],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 or "already exists" in p.stderr, f"useradd {name}: {p.stderr}"
    entry = pwd.getpwnam(name)
    if entry.pw_shell != "/bin/bash" or entry.pw_dir != VSFTPD_USER_HOME:
        subprocess.run(["usermod", "-s", "/bin/bash", "-d", VSFTPD_USER_HOME, name], check=True,
                       capture_output=True, timeout=60)
    p = subprocess.run(["chpasswd"], input=f"{name}:{password}\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"chpasswd {name}: {p.stderr}"
    try:
        with open("/etc/ftpusers") as f:
            assert name not in [l.strip() for l in f], f"{name} is listed in /etc/ftpusers (PAM denies it)"
    except FileNotFoundError:
        pass
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _new_session_and_die_with_parent():
    os.setsid()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class VsftpdServer:
    """vsftpd in the foreground (background=NO), in a process group of its own (its per-session
    children are stopped with it). The base directory lives outside pytest's 0700 temp tree so
    that the unprivileged FTP user can reach its home."""

    def __init__(self, implicit=False, cert=None, key=None):
        if not (os.path.isfile(VSFTPD) and os.access(VSFTPD, os.X_OK)):
            raise AssertionError(f"{VSFTPD} is missing: apt-get install vsftpd (scripts/test does)")
        self.implicit = implicit
        self.base = Path(tempfile.mkdtemp(prefix="wharf-vsftpd-", dir="/tmp"))
        os.chmod(self.base, 0o755)
        self.user, self.password = VSFTPD_USER, VSFTPD_PASSWORD
        self.uid, self.gid = ensure_system_user(self.user, self.password)
        self.home = self.base / "home"
        self.home.mkdir()
        os.chown(self.home, self.uid, self.gid)
        os.chmod(self.home, 0o755)
        if cert is None:
            cert, key = make_cert(self.base / "tls")
        self.cert, self.key = cert, key
        os.chmod(self.key, 0o600)
        self.cafile = cert
        self.log_path = self.base / "vsftpd.log"
        self.out_path = self.base / "vsftpd.out"
        self.port = None
        self.proc = None
        os.makedirs("/var/run/vsftpd/empty", exist_ok=True)

    def config(self, port, pasv):
        lines = {
            "listen": "YES", "listen_ipv6": "NO", "listen_address": "127.0.0.1", "listen_port": port,
            "background": "NO", "anonymous_enable": "NO", "local_enable": "YES", "write_enable": "YES",
            "local_umask": "022", "local_root": self.home, "chroot_local_user": "NO",
            "pasv_enable": "YES", "pasv_min_port": pasv[0], "pasv_max_port": pasv[1],
            "port_enable": "YES", "connect_from_port_20": "NO",
            "seccomp_sandbox": "NO", "secure_chroot_dir": "/var/run/vsftpd/empty",
            "pam_service_name": "vsftpd", "userlist_enable": "NO", "tcp_wrappers": "NO",
            "ssl_enable": "YES", "require_ssl_reuse": "YES", "implicit_ssl": "YES" if self.implicit else "NO",
            "force_local_logins_ssl": "YES", "force_local_data_ssl": "YES", "allow_anon_ssl": "NO",
            "ssl_ciphers": "HIGH", "rsa_cert_file": self.cert, "rsa_private_key_file": self.key,
            "utf8_filesystem": "YES",
            # Dot files are listed without `LIST -a` (the tests' trees and `ls -a` need them).
            "force_dot_files": "YES",
            "xferlog_enable": "YES", "xferlog_std_format": "NO", "log_ftp_protocol": "YES",
            "vsftpd_log_file": self.log_path, "dual_log_enable": "NO", "syslog_enable": "NO",
            "delay_failed_login": "0", "delay_successful_login": "0", "max_login_fails": "3",
            "max_clients": "0", "max_per_ip": "0", "idle_session_timeout": "600", "data_connection_timeout": "300",
        }
        return "".join(f"{k}={v}\n" for k, v in lines.items())

    def log(self):
        out = ""
        for p in (self.log_path, self.out_path):
            try:
                out += p.read_text(errors="replace")
            except FileNotFoundError:
                pass
        return out

    def _greets(self, port):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if self.implicit:
                    ctx = ssl.create_default_context(cafile=self.cafile)
                    s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
                s.settimeout(5)
                return s.recv(200).startswith(b"220")
        except (OSError, ssl.SSLError):
            return False

    def start(self):
        for _ in range(5):
            port = free_port()
            pasv = free_port_range(40)
            conf = self.base / "vsftpd.conf"
            conf.write_text(self.config(port, pasv))
            out = open(self.out_path, "ab")
            self.proc = subprocess.Popen([VSFTPD, str(conf)], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                         preexec_fn=_new_session_and_die_with_parent)
            out.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self._greets(port):
                    self.port = port
                    return self
                time.sleep(0.1)
            self.stop()
        raise AssertionError(f"vsftpd did not start:\n{self.log()[-3000:]}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, cleanup=False):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)   # the listener and its session processes
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if cleanup:
            shutil.rmtree(self.base, ignore_errors=True)


# --------------------------------------------------------------------------
# a server that accepts TCP connections and never says anything
# --------------------------------------------------------------------------
class SilentServer:
    """Listens on 127.0.0.1, accepts, reads and discards, never writes (not even a greeting)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.accepted = 0
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.accepted += 1
            self.conns.append(c)

    def close(self):
        self._stop = True
        self.thread.join(timeout=5)
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


# --------------------------------------------------------------------------
# the peer as the client sees it
# --------------------------------------------------------------------------
class Peer:
    """One FTP server as the client sees it, plus the paths behind it on disk."""

    def __init__(self, name, spec, server, port, user, password, login_dir, login_abs, cafile, base,
                 owner=None):
        self.name = name
        self.spec = spec
        self.kind = spec.kind
        self.scheme = spec.scheme
        self.server = server
        self.host = "127.0.0.1"
        self.port = port
        self.user = user
        self.password = password
        self.login_dir = Path(login_dir)   # on disk, what the login directory is
        self.login_abs = login_abs         # the login directory's absolute path as the server names it
        self.cafile = cafile
        self.owner = owner                 # (uid, gid) files must belong to (vsftpd), else None
        self.base = Path(base)
        self.home_env = self.base / "home"
        self.home_env.mkdir(parents=True, exist_ok=True)
        self.rel = None
        self.root = None

    def __repr__(self):
        return f"<Peer {self.name} {self.scheme}://127.0.0.1:{self.port}>"

    @property
    def tls(self):
        return self.scheme in TLS_SCHEMES

    # -- paths ------------------------------------------------------------
    def make_workdir(self, name):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60] + "-" + uuid.uuid4().hex[:6]
        self.rel = name
        self.root = self.login_dir / name
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        self.sync_owner()
        return self.root

    def remove_workdir(self):
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def path(self, rel=""):
        """The local filesystem path behind remote `rel` (relative to the work directory)."""
        return self.root / rel if rel else self.root

    def remote_abs(self, rel=""):
        """The absolute path of `rel` as the server names it."""
        base = self.login_abs.rstrip("/") + "/" + self.rel
        return base + ("/" + rel if rel else "")

    def authority(self, user=True, password=False):
        who = ""
        if user:
            who = urllib.parse.quote(self.user, safe="")
            if password:
                who += ":" + urllib.parse.quote(self.password, safe="")
            who += "@"
        return f"{who}{self.host}:{self.port}"

    def url(self, rel="", user=True, password=False, scheme=None):
        """SCHEME://user@127.0.0.1:PORT/WORKDIR/rel -- relative to the login directory."""
        path = self.rel + ("/" + rel if rel else "")
        # Paths go in raw (UTF-8, spaces), as users type them; the client decodes %XX escapes too.
        return f"{scheme or self.scheme}://{self.authority(user, password)}/{path}"

    def abs_url(self, rel=""):
        """The same place by an absolute path: SCHEME://host//abs/path."""
        return f"{self.scheme}://{self.authority()}/{self.remote_abs(rel)}"

    def sync_owner(self):
        """vsftpd acts as its Unix user: hand it whatever the test created as root in the work
        directory (only what it does not own yet, so ctimes of its own files stay untouched)."""
        if self.owner is None or self.root is None or not self.root.exists():
            return
        uid, gid = self.owner
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in [None, *dirnames, *filenames]:
                p = dirpath if n is None else os.path.join(dirpath, n)
                st = os.lstat(p)
                if st.st_uid != uid or st.st_gid != gid:
                    os.lchown(p, uid, gid)

    # -- the server's log -------------------------------------------------
    def log(self):
        return self.server.log()

    def log_mark(self):
        return len(self.log())

    def _log_since(self, mark, settle=True):
        if settle:
            # Each server logs a transfer before (vsftpd, Wharf) or right after (pyftpdlib) its
            # final reply, which the client waits for: a moment is enough.
            time.sleep(0.1)
        return self.log()[mark:]

    def transfers(self, mark=0, name=None):
        out = parse_transfers(self.kind, self._log_since(mark))
        if name is not None:
            out = [t for t in out if t.name == name]
        return out

    def commands(self, mark=0):
        """Command lines the server received since `mark` (PASS masked), or None when the server
        does not log them (Wharf)."""
        text = self._log_since(mark)
        if self.kind == "vsftpd":
            return _VSFTPD_CMD.findall(text)
        if self.kind == "pyftpdlib":
            return _PYFTPDLIB_CMD.findall(text)
        return None

    def alive(self):
        return self.server.proc is not None and self.server.proc.poll() is None

    # -- the client -------------------------------------------------------
    def env(self, extra=None, password=True):
        env = dict(os.environ)
        for k in ("WHARF_PASSWORD", "SSL_CERT_FILE", "SSL_CERT_DIR"):
            env.pop(k, None)
        env["HOME"] = str(self.home_env)
        env["LC_ALL"] = "C.UTF-8"
        if password and self.password is not None:
            env["WHARF_PASSWORD"] = self.password
        if extra:
            env.update(extra)
        return env

    def argv(self, command, *args, ca=True, options=()):
        cmd = command.split() if isinstance(command, str) else list(command)
        tls = ["--ca-file", str(self.cafile)] if (ca and self.tls) else []
        return [wharf_bin_path(), *cmd, *tls, *options, *map(str, args)]

    def wharf(self, command, *args, ca=True, password=True, options=(), input=None, env=None, cwd=None,
              timeout=CLIENT_TIMEOUT):
        """Run the client: `wharf COMMAND [--ca-file CERT] [options] ARGS...`, the password in
        WHARF_PASSWORD unless password=False. Returns a CompletedProcess (text) with .argv and
        .elapsed."""
        self.sync_owner()
        argv = self.argv(command, *args, ca=ca, options=options)
        t0 = time.monotonic()
        try:
            p = subprocess.run(argv, capture_output=True, timeout=timeout, input=input,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               cwd=str(cwd or self.base), env=self.env(env, password), text=True, errors="replace")
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"wharf did not finish within {timeout}s: {argv}\nstderr:\n{e.stderr}") from None
        p.elapsed = time.monotonic() - t0
        p.argv = argv
        self.sync_owner()
        return p


def wharf_bin_path():
    b = os.environ.get("WHARF_BIN") or str(Path(__file__).resolve().parents[2] / ".build" / "debug" / "wharf")
    return os.path.abspath(b)


# --------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------
def _show(p):
    return f"argv: {p.argv}\nexit: {p.returncode}\nstdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}"


def ok(p, what=""):
    assert p.returncode == 0, f"{what or ' '.join(p.argv[1:2])} failed\n{_show(p)}"
    return p


def failed(p, what=""):
    """Exit status 1 and exactly one line, `wharf: <reason>`, on stderr."""
    assert p.returncode == 1, f"{what} was expected to exit 1\n{_show(p)}"
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"{what}: expected one line on stderr\n{_show(p)}"
    assert lines[0].startswith("wharf: "), f"{what}: the line does not start with 'wharf: '\n{_show(p)}"
    return p


def quiet(p, what=""):
    """Success and no output at all (no terminal, or -q)."""
    ok(p, what)
    assert p.stdout == "" and p.stderr == "", f"{what}: output without a terminal\n{_show(p)}"
    return p


def part_files(root):
    """Every *.wharf-part under root."""
    return [str(p) for p in Path(root).rglob("*.wharf-part")]


def make_utf8_tree(root, files=1000, seed="utf8"):
    """`files` small files named like 'données-ü-日本-0042.txt' in nested directories (UTF-8 and
    spaces in directory names), a few 0-byte files, one empty directory."""
    import hashlib
    root = Path(root)
    dirs = [root, root / "dossier ü", root / "dossier ü" / "子 目录", root / "dossier ü" / "子 目录" / "ñ",
            root / "a" / "b" / "c", root / "Ελληνικά"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    (root / "vide ∅").mkdir(exist_ok=True)
    for i in range(files):
        d = dirs[i % len(dirs)]
        size = 0 if i % 97 == 0 else (i * 53) % 4096 + 1
        data = (hashlib.sha256(f"{seed}-{i}".encode()).digest() * (size // 32 + 1))[:size]
        (d / f"données-ü-日本-{i:04d}.txt").write_bytes(data)
    return root


# --------------------------------------------------------------------------
# fixtures: the servers (one each per session, started on first use)
# --------------------------------------------------------------------------
# Both test modules import these session fixtures, which makes pytest keep one instance per module:
# the servers themselves are kept here, so that both modules share one process of each.
_SHARED = {}


def _shared(key, start):
    if key not in _SHARED:
        _SHARED[key] = start()
    return _SHARED[key]


@pytest.fixture(scope="session")
def ftp_client_certs(tmp_path_factory):
    return _shared("certs", lambda: make_cert(tmp_path_factory.mktemp("ftp-client-tls")))


@pytest.fixture(scope="session")
def _vsftpd_explicit(ftp_client_certs):
    srv = _shared("vsftpd", lambda: VsftpdServer(implicit=False, cert=ftp_client_certs[0],
                                                 key=ftp_client_certs[1]).start())
    yield srv
    srv.stop(cleanup=True)


@pytest.fixture(scope="session")
def _vsftpd_implicit(ftp_client_certs):
    srv = _shared("vsftpd-implicit", lambda: VsftpdServer(implicit=True, cert=ftp_client_certs[0],
                                                          key=ftp_client_certs[1]).start())
    yield srv
    srv.stop(cleanup=True)


def _anon_root(base):
    root = Path(base) / "anonymous"
    root.mkdir(parents=True, exist_ok=True)
    (root / "welcome.txt").write_bytes(b"anonymous hello\n")
    (root / "pub").mkdir(exist_ok=True)
    (root / "pub" / "data.bin").write_bytes(bytes(range(256)) * 40)
    return root


def _pyftpdlib(tmp_path_factory, certs, label, **options):
    base = tmp_path_factory.mktemp(f"pyftpdlib-{label}")
    return PyftpdlibServer(base, cert=certs[0], key=certs[1], log_commands=True, **options).start()


@pytest.fixture(scope="session")
def _pyftpdlib_plain(tmp_path_factory, ftp_client_certs):
    def start():
        anon = _anon_root(tmp_path_factory.mktemp("pyftpdlib-anon"))
        srv = _pyftpdlib(tmp_path_factory, ftp_client_certs, "plain", tls="off", anonymous_root=str(anon))
        srv.anon_root = anon
        return srv
    srv = _shared("pyftpdlib-plain", start)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def _pyftpdlib_tls(tmp_path_factory, ftp_client_certs):
    srv = _shared("pyftpdlib-tls", lambda: _pyftpdlib(tmp_path_factory, ftp_client_certs, "tls", tls="optional"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def _pyftpdlib_listonly(tmp_path_factory, ftp_client_certs):
    srv = _shared("pyftpdlib-listonly", lambda: _pyftpdlib(tmp_path_factory, ftp_client_certs, "listonly",
                                                           tls="off", list_only=True))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def _pyftpdlib_dos(tmp_path_factory, ftp_client_certs):
    srv = _shared("pyftpdlib-dos", lambda: _pyftpdlib(tmp_path_factory, ftp_client_certs, "dos", tls="off",
                                                      list_only=True, list_format="dos"))
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def _wharf_ftp(wharf_bin, tmp_path_factory, ftp_client_certs):
    """A `wharf serve` of its own for the client tests: the fixtures' certificate (IP SAN
    127.0.0.1), TLS optional on the explicit port, implicit TLS on --ftps-listen, an anonymous
    root, and a second user whose password needs %-escapes in URLs."""
    def start():
        base = tmp_path_factory.mktemp("wharf-ftp-client")
        anon = _anon_root(base)
        cert, key = ftp_client_certs
        srv = WharfServer(wharf_bin, base / "server", extra_args=[
            "--tls-cert", cert, "--tls-key", key, "--ftp-anonymous-root", str(anon)])
        srv.start()
        assert srv.ftp_port and srv.ftps_port, f"{wharf_bin} serve has no --ftp-listen/--ftps-listen"
        p = srv.add_user(WHARF_URL_USER, password=WHARF_URL_PASSWORD)
        assert p.returncode == 0, f"wharf user add {WHARF_URL_USER}: {p.stderr.decode(errors='replace')}"
        srv.anon_root = anon
        srv.cafile = cert
        return srv
    srv = _shared("wharf", start)
    yield srv
    srv.stop()


_SERVER_FIXTURES = {
    "vsftpd": "_vsftpd_explicit", "vsftpd-implicit": "_vsftpd_implicit",
    "pyftpdlib-plain": "_pyftpdlib_plain", "pyftpdlib-tls": "_pyftpdlib_tls",
    "pyftpdlib-listonly": "_pyftpdlib_listonly", "pyftpdlib-dos": "_pyftpdlib_dos", "wharf": "_wharf_ftp",
}


def make_peer(name, request, tmp_path_factory):
    """The Peer for `name` on its (session) server, restarted if an earlier test killed it."""
    spec = PEER_SPECS[name]
    srv = request.getfixturevalue(_SERVER_FIXTURES[spec.server])
    if srv.proc is None or srv.proc.poll() is not None:
        srv.start()
    base = tmp_path_factory.mktemp(f"client-{name}")
    if spec.kind == "vsftpd":
        return Peer(name, spec, srv, srv.port, srv.user, srv.password, srv.home, str(srv.home), srv.cafile, base,
                    owner=(srv.uid, srv.gid))
    if spec.kind == "pyftpdlib":
        port = srv.ftps_port if spec.scheme == "ftps" else srv.ftp_port
        assert port, f"{name}: the pyftpdlib server has no port for {spec.scheme}"
        return Peer(name, spec, srv, port, srv.user, srv.password, srv.home, "/", srv.cafile, base)
    port = srv.ftps_port if spec.scheme == "ftps" else srv.ftp_port
    return Peer(name, spec, srv, port, srv.user, srv.password, srv.home, "/", srv.cafile, base)


@pytest.fixture(params=PEERS)
def peer(request, tmp_path_factory, wharf_bin):
    """The FTP server under test (every one in PEERS by default; tests narrow it with
    @pytest.mark.parametrize("peer", [...], indirect=True)), with a fresh work directory."""
    p = make_peer(request.param, request, tmp_path_factory)
    p.make_workdir(request.node.name)
    log_start = len(p.log())
    yield p
    p.remove_workdir()
    assert p.alive(), f"{p.name}: the server died during this test:\n{p.log()[log_start:][-4000:]}"


@pytest.fixture
def make_pyftpdlib_peer(tmp_path_factory, ftp_client_certs):
    """Factory for a per-test pyftpdlib peer with options (see ftp_fixtures.PyftpdlibServer and
    its --serve flags: tls, list_only, no_epsv, drop_retr_after, drop_stor_after, drop_mode,
    stall_retr_after, hang_commands, disable_active, cert/key)."""
    started = []

    def factory(scheme="ftp", cert=None, key=None, **options):
        certs = (cert, key) if cert else ftp_client_certs
        options.setdefault("tls", "off" if scheme == "ftp" else "optional")
        srv = PyftpdlibServer(tmp_path_factory.mktemp("pyftpdlib-fault"), cert=certs[0], key=certs[1],
                              log_commands=True, **options).start()
        started.append(srv)
        spec = PeerSpec("-", scheme, not options.get("list_only"), "mlsd", False, False, False, "pyftpdlib")
        port = srv.ftps_port if scheme == "ftps" else srv.ftp_port
        p = Peer(f"pyftpdlib-{scheme}-custom", spec, srv, port, srv.user, srv.password, srv.home, "/", certs[0],
                 tmp_path_factory.mktemp("client-custom"))
        p.make_workdir("w")
        return p

    yield factory
    for s in started:
        s.stop()


@pytest.fixture
def silent_server():
    s = SilentServer()
    yield s
    s.close()

