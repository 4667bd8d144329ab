"""Workload 6 of scripts/bench: Wharf's FTP server (`wharf serve --ftp-listen`) side by side with
vsftpd and pyftpdlib.

- curl RETR and STOR of the big file (--size-mib), plain FTP and explicit TLS (AUTH TLS, PROT P),
  plus Wharf's implicit FTPS (`ftps://`) as an informal extra row: the peers as configured here
  have no implicit-TLS listener, so it gets no ratio;
- N clients logging in at once (N = 300; a raw-socket asyncio client: 220, USER, PASS, 230);
- the server's memory with N idle logged-in sessions (RSS/PSS/fds summed over its processes);
- pyftpdlib's own `ftpbench` script against each server, where it runs.

Every server serves the same directory (on tmpfs with the rest of the harness's files), uses the
same throwaway certificate (ECDSA P-256, made here with openssl), is on 127.0.0.1, and logs
nothing per command or transfer. The exact configuration of each lands in the report.
"""

import ftplib
import io
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from .common import MiB, Measure, alternate, die_with_parent, free_port, log, make_file, preheat_memory, \
    proc_rss_pss_fds, proc_tree, rm, turned, wait_port

VSFTPD = "/usr/sbin/vsftpd"
# bytes written and deleted in the tmpfs before each ftpbench run (see preheat_memory)
FTPBENCH_PREHEAT = 2 * 1024 * MiB
# The local Linux account vsftpd logs in (see Vsftpd below). Created once, idempotently; its
# password is set anew for every run and locked again when the run ends.
VSFTPD_USER = "benchftp"
WHARF_USER = "bench"
PYFTPD_USER = "bench"
PYFTPD_SCRYPT_USER = "bench-scrypt"
TLS13_SUITE = "TLS_AES_128_GCM_SHA256"   # the TLS counterpart of the SSH workloads' aes128-gcm
CLIENTS = Path(__file__).resolve().parent / "ftp_clients.py"
PYFTPD_SERVER = Path(__file__).resolve().parent / "pyftpd_server.py"
GREETING_TIMEOUT = 2.0                    # see ftp_clients.login
PASSIVE_PORTS = 1000                      # per server: ftpbench holds 300 data connections at once


# ---------------------------------------------------------------------------
# set-up helpers
# ---------------------------------------------------------------------------
def make_cert(d):
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    cert, key = d / "cert.pem", d / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        os.chmod(key, 0o600)
    return str(cert), str(key)


_used_ranges = []


def free_port_range(n, lo=20000, hi=32000):
    """n consecutive loopback ports free now, below Linux's ephemeral range, not handed out before."""
    import random
    for _ in range(500):
        base = random.randrange(lo, hi - n)
        if any(base <= b + m and b <= base + n for b, m in _used_ranges):
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            _used_ranges.append((base, n))
            return base, base + n - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free range of passive ports")


def wait_log(path, pattern, timeout, proc):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            m = re.search(pattern, Path(path).read_text(errors="replace"))
            if m:
                return m
        except OSError:
            pass
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


def ensure_python_packages():
    """pyftpdlib (+ pyOpenSSL for its TLS handler): installed with pip when missing, as the
    harness does for matplotlib."""
    def ok():
        p = subprocess.run([sys.executable, "-c", "import pyftpdlib.handlers as h; h.TLS_FTPHandler"],
                           capture_output=True)
        return p.returncode == 0
    if ok():
        return
    log("pyftpdlib/pyOpenSSL missing: trying `python3 -m pip install pyftpdlib pyopenssl` ...")
    for extra in ([], ["--break-system-packages"]):
        if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "pyftpdlib", "pyopenssl", *extra],
                          capture_output=True, timeout=600).returncode == 0:
            break
    if not ok():
        raise RuntimeError("pyftpdlib with TLS support is not available (pip install pyftpdlib pyopenssl)")


def versions():
    out = {}
    try:
        import importlib.metadata as md
        for name in ("pyftpdlib", "pyOpenSSL"):
            try:
                out[name] = md.version(name)
            except md.PackageNotFoundError:
                out[name] = "not installed"
    except ImportError:
        pass
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "vsftpd"], capture_output=True, text=True)
    out["vsftpd"] = p.stdout.strip() if p.returncode == 0 else "unknown"
    p = subprocess.run(["curl", "--version"], capture_output=True, text=True)
    out["curl"] = p.stdout.splitlines()[0] if p.returncode == 0 and p.stdout else "unknown"
    return out


# ---------------------------------------------------------------------------
# servers
# ---------------------------------------------------------------------------
class FTPServerBase:
    label = "?"
    user = None
    password = None
    port = None
    ftps_port = None          # implicit TLS, where there is one
    proc = None
    log_path = None
    config = ""               # for the report

    def server_pids(self):
        return [self.proc.pid] + proc_tree(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_text(self):
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WharfFTP(FTPServerBase):
    """`wharf serve` with FTP (AUTH TLS on the same port) and implicit FTPS, SFTP off, one user
    whose password is checked against its scrypt hash (ln=14, r=8, p=1) as for any Wharf user."""

    label = "wharf serve"

    def __init__(self, wharf, base, home, cert, key):
        self.wharf = wharf
        self.base = Path(base)
        self.home = str(home)
        self.cert, self.key = cert, key
        self.data_dir = str(self.base / "data")
        self.user = WHARF_USER
        self.password = secrets.token_hex(12)
        self.log_path = str(self.base / "wharf-serve-ftp.log")

    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        helptext = subprocess.run([self.wharf, "serve", "--help"], capture_output=True, text=True).stdout
        if "--ftp-listen" not in helptext:
            raise RuntimeError(f"{self.wharf} serves no FTP (`wharf serve --help` lists no --ftp-listen): "
                               f"an old build? Rebuild it")
        p = subprocess.run([self.wharf, "user", "add", self.user, "--data-dir", self.data_dir, "--password-stdin",
                            "--home", self.home], input=self.password.encode(), capture_output=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError(f"wharf user add failed: {p.stderr.decode(errors='replace')}")
        self.port, self.ftps_port = free_port(), free_port()
        lo, hi = free_port_range(PASSIVE_PORTS)
        self.args = ["serve", "--data-dir", self.data_dir, "--sftp-listen", "off",
                     "--ftp-listen", f"127.0.0.1:{self.port}", "--ftps-listen", f"127.0.0.1:{self.ftps_port}",
                     "--ftp-passive-ports", f"{lo}-{hi}", "--tls-cert", self.cert, "--tls-key", self.key,
                     "--log-level", "notice", "--login-failure-delay", "0",
                     "--max-connections", "4000", "--max-connections-per-ip", "4000", "--shutdown-grace", "1"]
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.wharf, *self.args], stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     cwd=str(self.base), preexec_fn=die_with_parent)
        logf.close()
        if not (wait_log(self.log_path, r"FTPS listening on", 60, self.proc)
                and wait_port(self.port, 30, self.proc, banner=b"220")):
            raise RuntimeError("wharf serve (FTP) did not start:\n" + self.log_text()[-3000:])
        shown = " ".join(a if not a.startswith(("/", str(self.base))) else Path(a).name for a in self.args)
        self.config = (f"`wharf {shown}` (ports and paths abridged); TLS optional on the FTP port "
                       f"(`--ftp-tls` default), one process, listen backlog 256; user added with "
                       f"`wharf user add --password-stdin` (scrypt ln=14, r=8, p=1)")
        return self


class Vsftpd(FTPServerBase):
    """vsftpd 3 in the foreground (listen=YES, background=NO), as root.

    Login: vsftpd only authenticates through PAM, so it logs in a local Linux account. The harness
    creates `benchftp` once (useradd -M -d / -s /bin/sh: no home directory is made; /bin/sh because
    Debian's /etc/pam.d/vsftpd requires pam_shells; the account is not in /etc/ftpusers), sets a
    fresh random password with chpasswd at every start (stored as /etc/shadow's default hash,
    yescrypt on Debian 12) and locks it (usermod -L) when it stops. `local_root` points the session
    at the shared directory, which is chown'ed to benchftp so that STOR can write; the chroot there
    needs allow_writeable_chroot. Virtual users (pam_userdb) would need a Berkeley DB tool and a PAM
    file of our own; a throwaway local account is simpler and is what vsftpd does by default.

    TLS: ssl_enable=YES on the same port, neither logins nor data forced to TLS, so that one server
    answers plain and AUTH TLS as the others do; require_ssl_reuse stays at its default YES (curl
    reuses the control connection's TLS session on the data connection); ssl_ciphers=HIGH instead
    of the built-in default (DES-CBC3-SHA, which OpenSSL 3 no longer offers: it matters for TLS 1.2
    only, curl negotiates TLS 1.3 here). lock_upload_files=NO (default YES: fcntl locks on every
    upload and download): ftpbench starts its concurrent STORs of one file one after the other
    before it sends any data, so the second waits for the first's lock forever; neither Wharf nor
    pyftpdlib locks. Everything else at vsftpd's defaults, including its
    per-session process pair and isolate/isolate_network (new PID, IPC and network namespaces per
    session) and its listen backlog of 32 (compiled in)."""

    label = "vsftpd"

    def __init__(self, base, root, cert, key):
        self.base = Path(base)
        self.root = str(root)
        self.cert, self.key = cert, key
        self.user = VSFTPD_USER
        self.password = secrets.token_hex(12)
        self.log_path = str(self.base / "vsftpd.log")
        self.hash_kind = "?"

    def start(self):
        if not os.path.exists(VSFTPD):
            raise RuntimeError(f"{VSFTPD} not found: install the Debian package vsftpd (apt-get install vsftpd)")
        if os.geteuid() != 0:
            raise RuntimeError("vsftpd needs root here (a local account, chroot, PAM)")
        self.base.mkdir(parents=True, exist_ok=True)
        empty = self.base / "empty"
        empty.mkdir(exist_ok=True)
        os.chmod(empty, 0o755)
        if subprocess.run(["id", "-u", self.user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "-M", "-d", "/", "-s", "/bin/sh", "-c", "wharf scripts/bench FTP user",
                            self.user], check=True, capture_output=True)
        subprocess.run(["chpasswd"], input=f"{self.user}:{self.password}\n".encode(), check=True, capture_output=True)
        try:
            for line in Path("/etc/shadow").read_text().splitlines():
                if line.startswith(self.user + ":"):
                    prefix = line.split(":")[1].split("$")[1:2]
                    self.hash_kind = {"y": "yescrypt", "6": "sha512crypt", "5": "sha256crypt",
                                      "2b": "bcrypt"}.get(prefix[0] if prefix else "", "?")
        except OSError:
            pass
        shutil.chown(self.root, user=self.user)
        self.port = free_port()
        lo, hi = free_port_range(PASSIVE_PORTS)
        settings = [
            ("listen", "YES"), ("listen_ipv6", "NO"), ("listen_address", "127.0.0.1"), ("listen_port", self.port),
            ("background", "NO"), ("anonymous_enable", "NO"), ("local_enable", "YES"), ("write_enable", "YES"),
            ("local_umask", "022"), ("local_root", self.root), ("chroot_local_user", "YES"),
            ("allow_writeable_chroot", "YES"), ("secure_chroot_dir", empty), ("pam_service_name", "vsftpd"),
            ("pasv_enable", "YES"), ("pasv_min_port", lo), ("pasv_max_port", hi), ("connect_from_port_20", "NO"),
            ("seccomp_sandbox", "NO"), ("max_clients", 5000), ("max_per_ip", 5000),
            ("ssl_enable", "YES"), ("rsa_cert_file", self.cert), ("rsa_private_key_file", self.key),
            ("ssl_ciphers", "HIGH"), ("allow_anon_ssl", "NO"), ("force_local_logins_ssl", "NO"),
            ("force_local_data_ssl", "NO"), ("require_ssl_reuse", "YES"),
            ("xferlog_enable", "NO"), ("syslog_enable", "NO"), ("dirmessage_enable", "NO"),
            ("lock_upload_files", "NO"),
        ]
        cfg = self.base / "vsftpd.conf"
        cfg.write_text("".join(f"{k}={v}\n" for k, v in settings))
        os.chmod(cfg, 0o600)  # vsftpd refuses a config file others may write
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([VSFTPD, str(cfg)], stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     cwd=str(self.base), preexec_fn=die_with_parent)
        logf.close()
        if not wait_port(self.port, 30, self.proc, banner=b"220"):
            raise RuntimeError("vsftpd did not start:\n" + self.log_text()[-3000:])
        hidden = {"listen_port", "listen_address", "pasv_min_port", "pasv_max_port", "local_root", "rsa_cert_file",
                  "rsa_private_key_file", "secure_chroot_dir"}
        self.config = ("vsftpd.conf: `" + " ".join(f"{k}={v}" for k, v in settings if k not in hidden) +
                       "` (plus ports, `local_root`, certificate paths); PAM service `vsftpd` "
                       f"(pam_unix, {self.hash_kind} hash in /etc/shadow); per session a process pair "
                       "and new namespaces (isolate, isolate_network: defaults); listen backlog 32")
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            for pid in proc_tree(self.proc.pid):
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        super().stop()
        subprocess.run(["usermod", "-L", self.user], capture_output=True)


class Pyftpd(FTPServerBase):
    """pyftpdlib (bench_lib/pyftpd_server.py): FTPServer + TLS_FTPHandler, DummyAuthorizer. A
    second user, bench-scrypt, has its password checked against an scrypt hash with Wharf's
    parameters (hashlib.scrypt), for the login test only: it shows what hashing costs pyftpdlib."""

    label = "pyftpdlib"

    def __init__(self, base, root, cert, key):
        self.base = Path(base)
        self.root = str(root)
        self.cert, self.key = cert, key
        self.user = PYFTPD_USER
        self.password = secrets.token_hex(12)
        self.log_path = str(self.base / "pyftpdlib.log")

    def start(self):
        ensure_python_packages()
        self.base.mkdir(parents=True, exist_ok=True)
        pwfile = self.base / "password"
        pwfile.write_text(self.password)
        os.chmod(pwfile, 0o600)
        self.port = free_port()
        lo, hi = free_port_range(PASSIVE_PORTS)
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(PYFTPD_SERVER), "--port", str(self.port), "--passive-ports", f"{lo}-{hi}",
             "--home", self.root, "--user", self.user, "--password-file", str(pwfile),
             "--scrypt-user", PYFTPD_SCRYPT_USER, "--cert", self.cert, "--key", self.key],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, cwd=str(self.base), preexec_fn=die_with_parent)
        logf.close()
        if not wait_port(self.port, 30, self.proc, banner=b"220"):
            raise RuntimeError("pyftpdlib did not start:\n" + self.log_text()[-3000:])
        self.config = ("`FTPServer` (one process, asynchronous; listen backlog 100, its default) with "
                       "`TLS_FTPHandler` (`tls_control_required = tls_data_required = False`), "
                       "`TLS_DTPHandler`, `DummyAuthorizer` (password compared in plain text), "
                       "`max_cons = max_cons_per_ip = 5000`, logging at WARNING; sendfile() for plain RETR "
                       "(its default)")
        return self


def ftp_servers(ctx):
    """The three servers (started once per harness run), serving ctx.root/ftp."""
    root = ctx.root / "ftp"
    if not root.exists():
        root.mkdir()
        os.chmod(root, 0o755)
    cert, key = make_cert(ctx.etc / "ftp-tls")
    makers = [("wharf-ftp", lambda: WharfFTP(ctx.wharf, ctx.etc / "wharf-ftp", root, cert, key)),
              ("vsftpd", lambda: Vsftpd(ctx.etc / "vsftpd", root, cert, key)),
              ("pyftpdlib", lambda: Pyftpd(ctx.etc / "pyftpdlib", root, cert, key))]
    # one after the other from the main thread: PR_SET_PDEATHSIG (die_with_parent) signals the
    # child when the *thread* that started it ends, so no thread pool here
    servers = []
    for k, make in makers:
        t0 = time.perf_counter()
        servers.append(ctx._get(k, make))
        log(f"  {servers[-1].label} ready ({time.perf_counter() - t0:.2f}s)")
    return servers, root


# ---------------------------------------------------------------------------
# clients
# ---------------------------------------------------------------------------
def curl_argv(server, op, local, name, tls, implicit=False, verbose=False):
    port = server.ftps_port if implicit else server.port
    argv = ["curl", "-v" if verbose else "-sS", "--user", f"{server.user}:{server.password}",
            "--connect-timeout", "30"]
    if tls:
        argv += ["-k", "--tlsv1.3", "--tls13-ciphers", TLS13_SUITE]
        if not implicit:
            argv.append("--ssl-reqd")
    argv += ["-o", str(local)] if op == "get" else ["-T", str(local)]
    argv.append(f"{'ftps' if implicit else 'ftp'}://127.0.0.1:{port}/{name}")
    return argv


def timed(argv, timeout, what, env=None, hide=(), server=None):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       preexec_fn=die_with_parent, env=env)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        safe = [a if not any(h and h in a for h in hide) else "***" for a in argv]
        raise RuntimeError(f"{what} exited {p.returncode}: {' '.join(safe)}\n"
                           f"stderr: {p.stderr.decode(errors='replace')[-1500:]}" + server_state(server))
    return dt, p


def server_state(server):
    """For error messages: whether the server still runs, and the end of its log."""
    if server is None or server.proc is None:
        return ""
    rc = server.proc.poll()
    state = "still running" if rc is None else f"EXITED with status {rc}" + (
        f" (signal {-rc})" if rc < 0 else "")
    return f"\n{server.label} {state}; end of its log:\n{server.log_text()[-2000:]}"


def tls_negotiated(curl_stderr):
    """The TLS version and suite in `curl -v` output (control and data connections)."""
    found = re.findall(r"SSL connection using (\S+) / (\S+)", curl_stderr.decode(errors="replace"))
    return ", ".join(sorted({f"{v} {c}" for v, c in found})) or "(not in curl -v's output)"


def client_env(server):
    env = dict(os.environ)
    env["BENCH_FTP_PASSWORD"] = server.password
    env["BENCH_FTP_GREETING_TIMEOUT"] = str(GREETING_TIMEOUT)
    return env


def login_storm(ctx, server, n, user=None, password=None):
    env = client_env(server)
    if password is not None:
        env["BENCH_FTP_PASSWORD"] = password
    _, p = timed([sys.executable, str(CLIENTS), "logins", str(server.port), user or server.user, str(n)],
                 ctx.timeout, f"{n} logins against {server.label}", env=env, server=server)
    d = json.loads(p.stdout.decode().strip().splitlines()[-1])
    if d["failed"]:
        raise RuntimeError(f"{d['failed']} of {n} logins against {server.label} failed: {d['errors']}")
    return d


def idle_sessions(ctx, server, n, first, settle=1.0):
    """Holds n logged-in, idle FTP control connections (one asyncio process) and measures the server:
    RSS, PSS and fds summed over its processes before, with the first `first` sessions, and with
    all n (as workload 5, plus the middle point: the first logins may leave memory behind that
    does not grow with the sessions, e.g. the allocator keeping a password hash's work area).

    "Before" is taken after one warm-up session (log in, QUIT), like every other measure's warm-up
    round: what any first login costs once (code paths paged in, caches filled, a password hash
    computed) is not memory per session. One session, not a burst: a burst would leave freed
    memory in a one-process server's allocator that the idle sessions would then reuse unseen."""
    def measure():
        rss = pss = fds = 0
        pids = server.server_pids()
        for pid in pids:
            r, p, f = proc_rss_pss_fds(pid)
            rss, pss, fds = rss + r, pss + p, fds + f
        return {"rss": rss, "pss": pss, "fds": fds, "procs": len(pids)}

    def ready(word):
        line = _read_line(holder.stdout, ctx.idle_timeout)
        m = re.match(word + r" (\d+) (\d+)", line or "")
        if not m:
            holder.kill()
            raise RuntimeError(f"idle FTP sessions on {server.label} not ready within {ctx.idle_timeout}s: {line!r} "
                               f"{holder.stderr.read()[-1500:] if holder.poll() is not None else ''}"
                               + server_state(server))
        opened, failed = int(m.group(1)), int(m.group(2))
        if failed:
            raise RuntimeError(f"{failed} of {n} idle FTP sessions on {server.label} failed to open"
                               + server_state(server))
        return opened

    login_storm(ctx, server, 1)
    time.sleep(settle / 2)
    base = measure()
    holder = subprocess.Popen([sys.executable, str(CLIENTS), "idle", str(server.port), server.user, str(n),
                               str(first)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=die_with_parent, text=True, env=client_env(server))
    try:
        ready("FIRST")
        time.sleep(settle)
        warm = measure()
        holder.stdin.write("\n")
        holder.stdin.flush()
        opened = ready("READY")
        time.sleep(settle)
        full = measure()
    finally:
        try:
            holder.stdin.write("\n")
            holder.stdin.close()
        except OSError:
            pass
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    return {"sessions": opened, "base": base, "full": full, "first": first, "warm": warm}


def _read_line(f, timeout):
    import selectors
    sel = selectors.DefaultSelector()
    sel.register(f, selectors.EVENT_READ)
    try:
        return f.readline() if sel.select(timeout) else None
    finally:
        sel.close()


# ---------------------------------------------------------------------------
# ftpbench (pyftpdlib's benchmark script)
# ---------------------------------------------------------------------------
def find_ftpbench():
    for cand in (shutil.which("ftpbench"), Path(sysconfig.get_path("scripts")) / "ftpbench"):
        if cand and Path(cand).is_file():
            return str(cand)
    return None


def ftpbench_runs_here():
    """(path or None, why not). ftpbench is built on asyncore/asynchat, gone in Python 3.12."""
    path = find_ftpbench()
    if path is None:
        return None, "not shipped with the installed pyftpdlib (no `ftpbench` script on PATH)"
    p = subprocess.run([sys.executable, "-c", "import asyncore, asynchat"], capture_output=True)
    if p.returncode != 0:
        return None, f"needs asyncore/asynchat, which Python {sys.version.split()[0]} no longer has"
    return path, None


_FTPBENCH_LINE = re.compile(r"^(.*?)\s+(\d+(?:\.\d+)?)\s+(secs|MB/sec)\s*$")


def ftpbench(ctx, path, server, args):
    argv = [sys.executable, "-W", "ignore::DeprecationWarning", path, "-u", server.user, "-p", server.password,
            "-H", "127.0.0.1", "-P", str(server.port), "-t", "120", *args]
    _, p = timed(argv, ctx.timeout, f"ftpbench against {server.label}", hide=(server.password,),
                 server=server)
    rows = []
    for line in p.stdout.decode(errors="replace").splitlines():
        m = _FTPBENCH_LINE.match(re.sub(r"\x1b\[[0-9;]*m", "", line).strip())
        if m:
            rows.append((m.group(1).strip(), float(m.group(2)), m.group(3)))
    if not rows:
        raise RuntimeError(f"ftpbench against {server.label} printed no result:\n{p.stdout.decode()[-1500:]}")
    return rows


# ---------------------------------------------------------------------------
# the workload
# ---------------------------------------------------------------------------
def w6(ctx):
    servers, root = ftp_servers(ctx)
    wharf = servers[0]
    impls = [s.label for s in servers]
    by = {s.label: s for s in servers}
    implicit = f"{wharf.label} (implicit FTPS)"
    smoke = ctx.smoke
    n_logins = 2 if smoke else 300
    n_idle = 2 if smoke else 300
    n_idle_first = 1 if smoke else 20

    # idle sessions first, on servers that have served nothing yet: a one-process server keeps the
    # memory an earlier burst of sessions made it allocate, and "with sessions - before" would
    # then read zero
    idle = {}
    for s in servers:
        log(f"  {n_idle} idle FTP sessions on {s.label} ...")
        idle[s.label] = idle_sessions(ctx, s, n_idle, n_idle_first, settle=0.1 if smoke else 1.0)
        log(f"    {idle[s.label]}")

    size_mib = ctx.size_mib
    src = root / "big.bin"
    if not src.exists():
        make_file(src, size_mib * MiB)
    dl = ctx.dest / "ftp-download.bin"
    up = root / "ftp-upload.bin"
    size = size_mib * MiB

    # what TLS curl negotiates: read from `curl -v` on each server's first TLS RETR (the warm-up
    # round's, or with --smoke the only one); -v prints the protocol exchange, not the data
    tls_info = {}

    def retr(label, tls, impl=False):
        s = by[label]
        key = f"{label} (implicit FTPS)" if impl else label

        def f():
            rm(dl)
            verbose = tls and key not in tls_info
            dt, p = timed(curl_argv(s, "get", dl, src.name, tls, impl, verbose=verbose), ctx.timeout,
                          f"curl RETR from {s.label}", hide=(s.password,), server=s)
            if verbose:
                tls_info[key] = tls_negotiated(p.stderr)
            got = dl.stat().st_size if dl.exists() else -1
            if got != size:
                raise RuntimeError(f"curl RETR from {s.label}{' (implicit)' if impl else ''}: {got} bytes, "
                                   f"expected {size}")
            return dt
        return f

    def stor(label, tls, impl=False):
        s = by[label]

        def f():
            rm(up)
            dt, _ = timed(curl_argv(s, "put", src, up.name, tls, impl), ctx.timeout, f"curl STOR to {s.label}",
                          hide=(s.password,), server=s)
            got = up.stat().st_size if up.exists() else -1
            if got != size:
                raise RuntimeError(f"curl STOR to {s.label}{' (implicit)' if impl else ''}: {got} bytes arrived, "
                                   f"expected {size}")
            return dt
        return f

    # small files, as workload 4 does for SFTP: one ftplib session stores n files of 4 KiB one
    # after the other (STOR, each with its own data connection), then retrieves them
    n_small = ctx.small_files
    small_dir = root / "small"
    small_block = os.urandom(4096 * 16)

    def small_session(s):
        c = ftplib.FTP()
        c.connect("127.0.0.1", s.port, timeout=60)
        c.login(s.user, s.password)
        return c

    def small_up(label):
        s = by[label]

        def f():
            rm(small_dir)
            small_dir.mkdir()
            os.chmod(small_dir, 0o777)   # vsftpd writes as its login user
            c = small_session(s)
            try:
                t0 = time.perf_counter()
                for i in range(n_small):
                    c.storbinary(f"STOR small/f{i:05d}", io.BytesIO(small_block[(i % 16) * 4096:(i % 16 + 1) * 4096]))
                dt = time.perf_counter() - t0
                c.quit()
            finally:
                c.close()
            stored = [e for e in small_dir.iterdir() if not e.name.startswith(".")]
            if len(stored) != n_small or any(e.stat().st_size != 4096 for e in stored):
                raise RuntimeError(f"ftplib STOR of {n_small} files to {s.label}: {len(stored)} files of 4 KiB arrived")
            return dt
        return f

    def small_down(label):
        s = by[label]

        def f():
            c = small_session(s)
            try:
                t0 = time.perf_counter()
                for i in range(n_small):
                    got = []
                    c.retrbinary(f"RETR small/f{i:05d}", got.append)
                    if sum(map(len, got)) != 4096:
                        raise RuntimeError(f"ftplib RETR small/f{i:05d} from {s.label}: {sum(map(len, got))} bytes")
                dt = time.perf_counter() - t0
                c.quit()
            finally:
                c.close()
            return dt
        return f

    m_small_up = Measure(f"STOR {n_small} files of 4 KiB", n_small, "files", impls, wharf.label)
    m_small_down = Measure(f"RETR {n_small} files of 4 KiB", n_small, "files", impls, wharf.label)

    tls_impls = impls + [implicit]
    stor_tls_impls = impls if smoke else tls_impls   # --smoke: implicit FTPS for RETR only (time)
    m_rp = Measure(f"RETR {size_mib} MiB, plain", size_mib, "MiB", impls, wharf.label, writes=size_mib * MiB)
    m_sp = Measure(f"STOR {size_mib} MiB, plain", size_mib, "MiB", impls, wharf.label, writes=size_mib * MiB)
    m_rt = Measure(f"RETR {size_mib} MiB, TLS", size_mib, "MiB", tls_impls, wharf.label, writes=size_mib * MiB)
    m_st = Measure(f"STOR {size_mib} MiB, TLS", size_mib, "MiB", stor_tls_impls, wharf.label, writes=size_mib * MiB)
    for m in (m_rt, m_st):
        m.informal = {implicit}
    scrypt_peer = f"{Pyftpd.label} (scrypt user)"
    login_impls = impls + [scrypt_peer]
    m_login = Measure(f"{n_logins} logins at once", n_logins, "logins", login_impls, wharf.label)
    m_login.informal = {scrypt_peer}
    m_login.log_scale = True    # the chart: plain-text pyftpdlib logs in ~100 times faster
    calls = []   # (label, client result) of every login run, warm-up first, in alternate()'s order

    def storm(label):
        s = by[label.split(" (")[0]]
        extra = {"user": PYFTPD_SCRYPT_USER} if label == scrypt_peer else {}

        def f():
            d = login_storm(ctx, s, n_logins, **extra)
            calls.append((label, d))
            return d["wall"]
        return f

    fr = {**{i: retr(i, True) for i in impls}, implicit: retr(wharf.label, True, True)}
    fs = {**{i: stor(i, True) for i in impls}, implicit: stor(wharf.label, True, True)}
    try:
        alternate(ctx, [(m_rp, {i: retr(i, False) for i in impls}), (m_sp, {i: stor(i, False) for i in impls}),
                        (m_rt, fr), (m_st, fs), (m_login, {i: storm(i) for i in login_impls}),
                        (m_small_up, {i: small_up(i) for i in impls}),
                        (m_small_down, {i: small_down(i) for i in impls})])
    finally:
        rm(dl)
        rm(up)
        rm(small_dir)
    # per-login figures of the measured rounds only (alternate() runs each label once per round)
    per_login = {i: [] for i in login_impls}
    reconnects = {i: [] for i in login_impls}
    for label, d in calls[ctx.warmup * len(login_impls):]:
        per_login[label].extend(d["per"])
        reconnects[label].append(d["reconnects"])

    # ftpbench
    fb_path, fb_why = ftpbench_runs_here()
    fb = None
    if fb_path:
        # --smoke: its shortest benchmark (one second of STOR) against Wharf only, to check that
        # it runs and parses; every ftpbench benchmark lasts at least a second per server
        fb_args = ["-b", "upload"] if smoke else ["-b", "all", "-n", "300", "-s", "10M"]
        fb_servers = servers[:1] if smoke else servers
        fb_rounds = 1 if smoke else min(ctx.rounds, 3)
        fb = {"args": fb_args, "rounds": fb_rounds, "rows": {s.label: {} for s in servers}, "order": []}
        for r in range(fb_rounds):
            # each run starts on freshly written free memory, as the measured transfers do
            # (ftpbench writes ~1.3 GB per STOR second; see preheat_memory)
            for s in turned(fb_servers, r):
                if not smoke:
                    preheat_memory(root, FTPBENCH_PREHEAT)
                log(f"  ftpbench round {r + 1}/{fb_rounds} against {s.label} ...")
                for what, val, unit in ftpbench(ctx, fb_path, s, fb_args):
                    if (what, unit) not in fb["order"]:
                        fb["order"].append((what, unit))
                    fb["rows"][s.label].setdefault((what, unit), []).append(val)
    else:
        log(f"  ftpbench skipped: {fb_why}")

    for s in servers:
        if not s.alive():
            raise RuntimeError(f"{s.label} died during the workload; its log:\n{s.log_text()[-3000:]}")
    complaints = [ln for ln in wharf.log_text().splitlines()
                  if re.search(r"\b(warning|error|critical)\b", ln)]
    if complaints:
        log(f"  wharf serve logged {len(complaints)} warning/error line(s), first: {complaints[:5]}")

    return {"title": "6. FTP server: `wharf serve` vs vsftpd vs pyftpdlib (clients: curl, an asyncio login "
                     "client, ftpbench)",
            "measures": [m_rp, m_sp, m_rt, m_st, m_login, m_small_up, m_small_down],
            "idle": idle, "idle_what": "FTP", "idle_log_scale": True,
            "tables": _tables(m_login, per_login, reconnects, fb, fb_why, servers),
            "note": _note(ctx, servers, tls_info, implicit, scrypt_peer, n_logins, n_idle, n_idle_first, complaints,
                          fb)}


def _tables(m_login, per_login, reconnects, fb, fb_why, servers):
    def pct(xs, q):
        xs = sorted(xs)
        k = (len(xs) - 1) * q
        lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)
    T = []
    lines = ["| per login (connect → 230) | implementation | p50 s | p99 s | max s | reconnects per run (median) |",
             "|---|---|---:|---:|---:|---:|"]
    for impl, xs in per_login.items():
        if xs:
            lines.append(f"| {m_login.name} | {impl} | {pct(xs, .5):.3f} | {pct(xs, .99):.3f} | {max(xs):.3f} | "
                         f"{statistics.median(reconnects[impl]):g} |")
    T.append(lines)
    if fb is None:
        T.append([f"ftpbench: {fb_why}; skipped."])
    else:
        labels = [s.label for s in servers]
        w = labels[0]
        head = "| ftpbench (`" + " ".join(fb["args"]) + f"`, median of {fb['rounds']}) | " + \
            " | ".join(labels) + " | " + " | ".join(f"Wharf/{p}" for p in labels[1:]) + " |"
        lines = [head, "|---|" + "---:|" * (2 * len(labels) - 1)]
        for what, unit in fb["order"]:
            meds = {lb: statistics.median(fb["rows"][lb][(what, unit)]) if fb["rows"][lb].get((what, unit)) else None
                    for lb in labels}
            cells = [f"{meds[lb]:,.2f} {unit}" if meds[lb] is not None else "—" for lb in labels]
            ratios = []
            for p in labels[1:]:
                a, b = meds[w], meds[p]
                if not a or not b:
                    ratios.append("n/a")
                else:
                    ratios.append(f"**{(a / b if unit == 'MB/sec' else b / a):.2f}×**")
            lines.append(f"| {what} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
        T.append(lines)
    return T


def _note(ctx, servers, tls_info, implicit, scrypt_peer, n_logins, n_idle, n_idle_first, complaints, fb):
    v = versions()
    parts = [
        f"Clients: {v.get('curl', 'curl')}, one process per transfer timed from spawn to exit (login included), "
        f"`curl -sS -o FILE ftp://…/big.bin` (RETR, to a tmpfs file) and `curl -sS -T big.bin ftp://…` (STOR, "
        f"from tmpfs), passive mode (EPSV), binary; TLS rows add `--ssl-reqd -k --tlsv1.3 --tls13-ciphers "
        f"{TLS13_SUITE}` (AUTH TLS, PROT P: control and data encrypted); every transfer's size is checked. "
        f"Negotiated: " + "; ".join(f"{k}: {val}" for k, val in tls_info.items()) + ". "
        f"`{implicit}` is `ftps://` to `--ftps-listen`: informal, no ratio (the peers here have no implicit-TLS "
        f"listener). All servers share one certificate (ECDSA P-256, openssl req -x509) and serve one tmpfs "
        f"directory.",
        f"Logins: one Python asyncio process opens {n_logins} connections at once against the server; each "
        f"reads the 220 greeting, sends USER and PASS and waits for 230; the time is from the first connect to "
        f"the last 230 (ratio = peer time / Wharf time), then all QUIT. A connection without a greeting after "
        f"{GREETING_TIMEOUT:g} s is closed and made again (`reconnects`): a listen backlog smaller than the "
        f"burst (vsftpd 32, pyftpdlib 100, Wharf 256) overflows, Linux answers the excess with SYN cookies and "
        f"drops the handshake's last ACK, and those clients wait for a greeting from a server that never saw "
        f"them. The cost of a login is mostly password hashing: Wharf verifies scrypt (ln=14, r=8, p=1: about "
        f"16 MiB and tens of ms of CPU each), vsftpd's PAM checks /etc/shadow's hash (yescrypt on Debian 12), "
        f"pyftpdlib's DummyAuthorizer compares plain text. `{scrypt_peer}` is the same pyftpdlib process "
        f"checking an scrypt hash with Wharf's parameters (hashlib.scrypt in its event loop): informal, "
        f"to show what the hashing costs.",
        f"Small files: one Python ftplib session per run stores {ctx.small_files} files of 4 KiB one after "
        f"the other (`storbinary`: TYPE I, PASV, a data connection and STOR per file), timed from the first STOR "
        f"to the last 226; the download run retrieves the same files (`retrbinary`), and every size is checked. "
        f"Wharf stores each under a temporary name and renames it on success (the peers write in place).",
        f"Idle sessions (measured first, on freshly started servers): the same client logs in {n_idle} "
        f"sessions, at most 40 at a time (as workload 5), and holds them without a command; RSS/PSS/fds summed over the server's processes "
        f"(vsftpd: the listener and every descendant, a process pair per session), before (after one warm-up "
        f"session that logged in and quit), with the first "
        f"{n_idle_first} and with all {n_idle}. Per session = (with all − before) / {n_idle}, as workload 5; "
        f"marginal = (with all − with the first {n_idle_first}) / {n_idle - n_idle_first}, which leaves out "
        f"what the first logins leave behind once.",
        "Server configurations: " + " ".join(f"**{s.label}**: {s.config}." for s in servers),
        f"Versions: vsftpd {v.get('vsftpd')}, pyftpdlib {v.get('pyftpdlib')}, pyOpenSSL {v.get('pyOpenSSL')}.",
    ]
    if fb is not None:
        parts.append(f"ftpbench: pyftpdlib's script as shipped in its pip package (`ftpbench -u U -p P -H 127.0.0.1 "
                     f"-P PORT -t 120 {' '.join(fb['args'])}`), plain FTP, {fb['rounds']} round(s) per server "
                     f"(A B C, C B A, …)"
                     + ("" if ctx.smoke else f", each run after {FTPBENCH_PREHEAT // 2**30} GiB written to the "
                        f"tmpfs and deleted (as before the 1 GiB transfers)")
                     + f"; its own figures (MB/sec = MiB/s over one "
                     f"second of transfer; the '300 concurrent clients (connect, login)' line logs them in one "
                     f"after another). Ratio "
                     f"Wharf/peer: throughput ratio, or peer time / Wharf time.")
    if complaints:
        parts.append(f"`wharf serve` logged {len(complaints)} warning/error line(s) during the workload, e.g. "
                     f"`{complaints[0][:200]}`.")
    else:
        parts.append("`wharf serve` logged no warning or error during the workload.")
    return "\n\n".join(parts)
