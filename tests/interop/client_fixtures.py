"""Fixtures for the `wharf` client tests: one `Target` per server (OpenSSH's sshd started by the
test, or `wharf serve`), a per-test work directory inside the login directory, a known_hosts file
holding the server's real host keys, and a runner for the `wharf` binary with an isolated HOME.

Every client test takes the `target` fixture, which is parametrized over both servers."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(__file__))
from helpers import run, sha256_file, wait_for_line  # noqa: E402

SERVERS = ["openssh", "wharf"]
OPENSSH_SFTP_SERVER = "/usr/lib/openssh/sftp-server"
# Where OpenSSH-side work directories live, relative to root's login directory.
OPENSSH_WORK_PARENT = "wharf-client-tests"
CLIENT_TIMEOUT = 300

MiB = 1024 * 1024


def keygen(path, kind="ed25519", passphrase=""):
    path = Path(path)
    for p in (path, Path(str(path) + ".pub")):
        if p.exists():
            p.unlink()
    args = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-f", str(path)]
    if kind == "ecdsa":
        args += ["-b", "256"]
    if kind == "rsa":
        args += ["-b", "2048"]
    run(args, check=True)
    return str(path)


def keyscan(port):
    """known_hosts lines (`[127.0.0.1]:PORT TYPE BASE64`) of every host key the server offers."""
    lines = []
    for kind in ("ed25519", "ecdsa"):
        p = run(["ssh-keyscan", "-T", "20", "-p", str(port), "-t", kind, "127.0.0.1"], timeout=60)
        for line in p.stdout.decode(errors="replace").splitlines():
            if line.strip() and not line.startswith("#"):
                lines.append(line.strip())
    assert lines, f"ssh-keyscan found no host key on port {port}"
    return lines


def fingerprints(known_hosts_path):
    """SHA256 fingerprints, as `ssh-keygen -l` prints them, of every key in a known_hosts file."""
    p = run(["ssh-keygen", "-l", "-f", str(known_hosts_path)], check=True)
    fps = re.findall(r"SHA256:[A-Za-z0-9+/]+", p.stdout.decode())
    assert fps, p.stdout
    return fps


def process_children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry))
    return out


def process_descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in process_children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


class Target:
    """One SFTP server as the client sees it, plus the local paths behind it."""

    def __init__(self, kind, server, base):
        self.kind = kind
        self.server = server
        self.host = "127.0.0.1"
        self.user = server.user
        self.key = server.key
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        # An isolated HOME: no default keys, no ~/.ssh/known_hosts of the machine.
        self.home_env = self.base / "home"
        (self.home_env / ".ssh").mkdir(parents=True, exist_ok=True)
        os.chmod(self.home_env / ".ssh", 0o700)
        if kind == "openssh":
            self.login_dir = Path(os.path.expanduser("~root"))
        else:
            self.login_dir = Path(server.home)
        self.rel = None
        self.root = None
        self.known_hosts = self.base / "known_hosts"
        self.refresh_known_hosts()

    # -- server -----------------------------------------------------------
    @property
    def port(self):
        return self.server.port

    def refresh_known_hosts(self):
        self.host_key_lines = keyscan(self.port)
        self.known_hosts.write_text("\n".join(self.host_key_lines) + "\n")

    def host_fingerprints(self):
        """The server's key fingerprints per `ssh-keygen -l` (of the key files for sshd)."""
        if self.kind == "openssh":
            return fingerprints(self.server.base / "host_ed25519.pub")
        # wharf serve keeps PKCS#8 PEM keys, which ssh-keygen cannot read for ed25519: write
        # their public halves in OpenSSH form, then ask ssh-keygen.
        from cryptography.hazmat.primitives import serialization
        lines = []
        for name in ("ssh_host_ed25519_key", "ssh_host_ecdsa_key"):
            with open(os.path.join(self.server.data_dir, name), "rb") as f:
                key = serialization.load_pem_private_key(f.read(), password=None)
            lines.append(key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                       serialization.PublicFormat.OpenSSH).decode())
        pub = self.base / f"host-keys-{uuid.uuid4().hex[:8]}.pub"
        pub.write_text("\n".join(lines) + "\n")
        return fingerprints(pub)

    # -- paths ------------------------------------------------------------
    def make_workdir(self, name):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:60] + "-" + uuid.uuid4().hex[:6]
        if self.kind == "openssh":
            self.rel = f"{OPENSSH_WORK_PARENT}/{name}"
        else:
            self.rel = name
        self.root = self.login_dir / self.rel
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(parents=True)
        return self.root

    def remove_workdir(self):
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)
        if self.kind == "openssh":
            parent = self.login_dir / OPENSSH_WORK_PARENT
            try:
                parent.rmdir()
            except OSError:
                pass

    def path(self, rel=""):
        """The local filesystem path behind remote `rel` (relative to the work directory)."""
        return self.root / rel if rel else self.root

    def remote_abs(self, rel=""):
        """The absolute path of `rel` as the server names it (the jail root is `/` on Wharf)."""
        if self.kind == "openssh":
            base = str(self.root)
        else:
            base = "/" + self.rel
        return base + ("/" + rel if rel else "")

    def url(self, rel="", user=True):
        """sftp://user@127.0.0.1:PORT/WORKDIR/rel — relative to the login directory."""
        path = self.rel + ("/" + rel if rel else "")
        who = f"{self.user}@" if user else ""
        return f"sftp://{who}{self.host}:{self.port}/{path}"

    def abs_url(self, rel=""):
        """The same place by an absolute path: sftp://host//abs/path."""
        return f"sftp://{self.user}@{self.host}:{self.port}/{self.remote_abs(rel)}"

    # -- the client -------------------------------------------------------
    def env(self, extra=None):
        env = dict(os.environ)
        env.pop("WHARF_PASSWORD", None)
        env["HOME"] = str(self.home_env)
        env["LC_ALL"] = "C.UTF-8"
        if extra:
            env.update(extra)
        return env

    def auth_args(self, key=True, known_hosts=True):
        args = []
        if key:
            args += ["-i", self.key]
        if known_hosts:
            args += ["--known-hosts", str(self.known_hosts)]
        return args

    def argv(self, command, *args, key=True, known_hosts=True, options=()):
        """`wharf COMMAND [auth options] [options] ARGS...`."""
        cmd = command.split() if isinstance(command, str) else list(command)
        return [wharf_bin_path(), *cmd, *self.auth_args(key, known_hosts), *options, *map(str, args)]

    def wharf(self, command, *args, key=True, known_hosts=True, options=(), input=None, env=None,
              cwd=None, timeout=CLIENT_TIMEOUT):
        """Run the client; returns a CompletedProcess with text stdout/stderr."""
        argv = self.argv(command, *args, key=key, known_hosts=known_hosts, options=options)
        p = subprocess.run(argv, capture_output=True, timeout=timeout, input=input,
                           cwd=str(cwd or self.base), env=self.env(env), text=True, errors="replace")
        p.argv = argv
        return p

    def popen(self, command, *args, options=(), cwd=None, env=None):
        argv = self.argv(command, *args, options=options)
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                             cwd=str(cwd or self.base), env=self.env(env), text=True, errors="replace")
        p.argv = argv
        return p

    # -- cutting connections from the server side ------------------------
    def freeze(self):
        """SIGSTOP whatever serves the sessions (sshd's per-connection children, or wharf serve)."""
        pids = self._session_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def cut(self, restart=True):
        """Kill the server side of every open session. sshd keeps listening; `wharf serve` is
        killed and (with `restart`) started again on the same port and data directory."""
        if self.kind == "openssh":
            for pid in self._session_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        proc = self.server.proc
        proc.kill()
        proc.wait()
        if restart:
            self.restart_wharf_same_port()

    def _session_pids(self):
        if self.kind == "openssh":
            return process_descendants(self.server.proc.pid)
        return [self.server.proc.pid]

    def restart_wharf_same_port(self):
        srv = self.server
        deadline = time.monotonic() + 30
        while True:
            before = len(srv.log())
            logf = open(srv.log_path, "ab")
            args = [srv.bin, "serve", "--data-dir", srv.data_dir,
                    "--sftp-listen", f"127.0.0.1:{srv.port}", "--log-level", srv.log_level,
                    *srv.extra_args]
            if srv.login_failure_delay is not None:
                args += ["--login-failure-delay", str(srv.login_failure_delay)]
            srv.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                        cwd=str(srv.base), preexec_fn=_die_with_parent)
            logf.close()
            m = wait_for_line(lambda: srv.log()[before:],
                              rf"SFTP listening on 127\.0\.0\.1:{srv.port}\b", 60, srv.proc)
            if m:
                return
            if srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()
                raise AssertionError("wharf serve did not restart:\n" + srv.log()[before:][-3000:])
            if time.monotonic() > deadline:
                raise AssertionError("wharf serve could not bind its port again:\n" + srv.log()[before:][-3000:])
            time.sleep(0.3)


def _die_with_parent():
    """preexec_fn: SIGTERM to the child if the test runner dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:
        pass


def wharf_bin_path():
    b = os.environ.get("WHARF_BIN") or str(Path(__file__).resolve().parents[2] / ".build" / "debug" / "wharf")
    return os.path.abspath(b)


def _make_target(kind, request, tmp_path_factory, own_server=False):
    if kind == "openssh":
        server = request.getfixturevalue("make_sshd")(OPENSSH_SFTP_SERVER)
    elif own_server:
        server = request.getfixturevalue("make_server")()
    else:
        server = request.getfixturevalue("wharf_server")
    t = Target(kind, server, tmp_path_factory.mktemp(f"client-{kind}"))
    t.make_workdir(request.node.name)
    return t


@pytest.fixture(params=SERVERS)
def target(request, tmp_path_factory, wharf_bin):
    """The server under test (both, by parametrization), with a fresh work directory."""
    t = _make_target(request.param, request, tmp_path_factory)
    yield t
    t.remove_workdir()


@pytest.fixture(params=SERVERS)
def own_target(request, tmp_path_factory, wharf_bin):
    """Like `target`, but a `wharf serve` of its own (free to be killed and restarted)."""
    t = _make_target(request.param, request, tmp_path_factory, own_server=True)
    yield t
    t.remove_workdir()


# --------------------------------------------------------------------------
# assertions and trees
# --------------------------------------------------------------------------
def ok(p, what=""):
    assert p.returncode == 0, (
        f"{what or ' '.join(p.argv[1:2])} exited {p.returncode}\nargv: {p.argv}\n"
        f"stdout:\n{p.stdout[-3000:]}\nstderr:\n{p.stderr[-3000:]}")
    return p


def failed(p, what=""):
    assert p.returncode != 0, (
        f"{what} was expected to fail but exited 0\nargv: {p.argv}\nstdout:\n{p.stdout[-3000:]}\n"
        f"stderr:\n{p.stderr[-3000:]}")
    return p


def tree_digest(root):
    """{relative path: ('f', sha256) | ('d',) | ('l', target)} of everything under root."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in list(dirnames):
            p = Path(dirpath) / d
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("l", os.readlink(p))
                dirnames.remove(d)
            else:
                out[rel] = ("d",)
        for f in filenames:
            p = Path(dirpath) / f
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = ("l", os.readlink(p))
            else:
                out[rel] = ("f", sha256_file(p))
    return out


def tree_mtimes(root):
    root = Path(root)
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            p = Path(dirpath) / f
            st = os.lstat(p)
            out[str(p.relative_to(root))] = (st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    return out


UTF8_NAMES = ["naïve café.txt", "日本語 ファイル.bin", "Ελληνικά", "emoji 🚢 wharf.dat", "spaced out name"]


def make_tree(root, files=1000, seed="tree"):
    """A tree with `files` small files in nested directories, names with spaces and UTF-8,
    an empty directory, and sizes 0..~8 KiB (a few larger)."""
    import hashlib
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    dirs = [root, root / "dir one", root / "dir one" / "sub two", root / "dir one" / "sub two" / "deep three",
            root / "ünïcödé dir", root / "ünïcödé dir" / "中文 目录", root / "a" / "b" / "c" / "d" / "e"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    (root / "empty dir").mkdir(exist_ok=True)
    n = 0
    for name in UTF8_NAMES:
        (root / "ünïcödé dir" / name).write_bytes(name.encode() * 3)
        n += 1
    (root / "big one.bin").write_bytes(hashlib.sha256(seed.encode()).digest() * 8192)  # 256 KiB
    (root / "zero").write_bytes(b"")
    n += 2
    i = 0
    while n < files:
        d = dirs[i % len(dirs)]
        size = (i * 37) % 8192
        data = (hashlib.sha256(f"{seed}-{i}".encode()).digest() * (size // 32 + 1))[:size]
        (d / f"file {i:04d} ß.txt").write_bytes(data)
        i += 1
        n += 1
    return root


def count_files(root):
    return sum(len(fs) for _, _, fs in os.walk(root))
