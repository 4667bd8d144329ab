"""Fixtures for the FTP/FTPS interoperability tests of `wharf serve`.

Every FTP test talks to an `FTPTarget`: by default the shared Wharf server of conftest.py (started
with `--ftp-listen` and `--ftps-listen` on free loopback ports), or, with
`WHARF_FTP_TARGET=pyftpdlib`, a pyftpdlib server started here in a subprocess (plain FTP, AUTH TLS
and an implicit-TLS listener, a self-signed certificate made by `openssl req -x509`, a passive port
range, a temporary home). The pyftpdlib target exists to debug the tests themselves against a
known-good server:

    WHARF_FTP_TARGET=pyftpdlib python3 -m pytest tests/interop -k ftp -m "not wharf_only"

Tests marked `wharf_only` check what is specific to Wharf's contract (log lines, reply codes where
pyftpdlib answers otherwise, HASH, CCC, atomic uploads, ...); they fail against pyftpdlib by design
(at their first line unless WHARF_FTP_RUN_WHARF_ONLY=1 lets them run on, to see how far they get).

This file is also the pyftpdlib server itself: `python3 ftp_fixtures.py --serve ...` (see `_serve`)."""

import argparse
import ftplib
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

sys.path.insert(0, os.path.dirname(__file__))

TARGET_KIND = os.environ.get("WHARF_FTP_TARGET", "wharf").strip().lower() or "wharf"
START_TIMEOUT = 60
IO_TIMEOUT = 30
MiB = 1024 * 1024


# --------------------------------------------------------------------------
# the target
# --------------------------------------------------------------------------
@dataclass
class FTPTarget:
    """One FTP server as the tests see it, plus the directory on disk behind the login root."""
    host: str
    port: int                      # plain FTP with AUTH TLS
    implicit_tls_port: Optional[int]
    user: str
    password: str
    home: Path                     # the user's home on disk, "/" over FTP
    cafile: Optional[str]          # PEM of the server's certificate (self-signed)
    kind: str                      # "wharf" | "pyftpdlib"
    log: Callable[[], str] = field(repr=False, default=lambda: "")
    server: object = field(repr=False, default=None)   # WharfServer | PyftpdlibServer
    data_dir: Optional[str] = None

    @property
    def is_wharf(self):
        return self.kind == "wharf"

    def ssl_context(self, verify=True):
        """A client context that trusts exactly the server's certificate. The host name is not
        checked: the certificate Wharf generates may not name 127.0.0.1."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        if verify:
            assert self.cafile and os.path.isfile(self.cafile), f"no server certificate at {self.cafile}"
            ctx.load_verify_locations(cafile=self.cafile)
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def pid(self):
        return self.server.proc.pid

    def alive(self):
        return self.server.proc.poll() is None

    # -- clients ----------------------------------------------------------
    def ftplib(self, mode="plain", login=True, user=None, password=None, timeout=IO_TIMEOUT, source=None):
        """A logged-in ftplib client. mode: "plain" (FTP), "tls" (AUTH TLS + PROT P) or
        "implicit" (TLS from the first byte on the implicit port + PROT P)."""
        if mode == "plain":
            c = ftplib.FTP(timeout=timeout, source_address=source)
            welcome = c.connect(self.host, self.port)
        elif mode == "tls":
            c = ftplib.FTP_TLS(context=self.ssl_context(), timeout=timeout, source_address=source)
            welcome = c.connect(self.host, self.port)
        elif mode == "implicit":
            assert self.implicit_tls_port, "this target has no implicit-TLS listener"
            c = ImplicitFTP_TLS(context=self.ssl_context(), timeout=timeout, source_address=source)
            welcome = c.connect(self.host, self.implicit_tls_port)
        else:
            raise ValueError(mode)
        assert welcome.startswith("220"), welcome
        if login:
            c.login(user or self.user, self.password if password is None else password)
            if mode in ("tls", "implicit"):
                c.prot_p()
        return c

    def raw(self, implicit=False, source=None, timeout=IO_TIMEOUT):
        """A RawFTP control connection (greeting not read yet)."""
        port = self.implicit_tls_port if implicit else self.port
        return RawFTP(self.host, port, timeout=timeout, source=source,
                      implicit_context=self.ssl_context() if implicit else None)


class ImplicitFTP_TLS(ftplib.FTP_TLS):
    """ftplib has no implicit FTPS: TLS starts right after the TCP connect."""

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if host:
            self.host = host
        if port:
            self.port = port
        if timeout != -999:
            self.timeout = timeout
        if source_address is not None:
            self.source_address = source_address
        sock = socket.create_connection((self.host, self.port), self.timeout, source_address=self.source_address)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=self.host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome


def abort_tls(c):
    """ftplib.FTP_TLS.abort() without the 'one reply' assumption: sends ABOR in band over TLS
    (MSG_OOB is impossible on a TLS socket) and returns the first reply."""
    c.sock.sendall(b"ABOR\r\n")
    return c.getmultiline()


# --------------------------------------------------------------------------
# a raw control connection
# --------------------------------------------------------------------------
class RawFTP:
    """Line-level FTP control connection: send any bytes, read whole (multi-line) replies."""

    def __init__(self, host, port, timeout=IO_TIMEOUT, source=None, implicit_context=None):
        self.host = host
        src = (source, 0) if source else None
        self.sock = socket.create_connection((host, port), timeout, source_address=src)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.context = implicit_context
        if implicit_context is not None:
            self.sock = implicit_context.wrap_socket(self.sock, server_hostname=host)

    # -- bytes --------------------------------------------------------------
    def send(self, line, flags=0):
        if isinstance(line, str):
            line = line.encode("utf-8")
        if not line.endswith(b"\n"):
            line += b"\r\n"
        if flags:
            self.sock.send(line, flags)
        else:
            self.sock.sendall(line)

    def _readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed; unparsed: {self.buf[:200]!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """(code, full text) of the next reply; multi-line replies ("123-" ... "123 ") read whole."""
        first = self._readline()
        lines = [first]
        m = re.match(r"^(\d{3})([ -])", first)
        assert m, f"not an FTP reply line: {first!r}"
        code = int(m.group(1))
        if m.group(2) == "-":
            while True:
                line = self._readline()
                lines.append(line)
                if line.startswith(f"{code} ") or line == str(code):
                    break
        return code, "\n".join(lines)

    def cmd(self, line):
        self.send(line)
        return self.reply()

    def expect(self, line, *codes):
        code, text = self.cmd(line)
        assert code in codes, f"{line!r}: expected {codes}, got {text!r}"
        return text

    def greeting(self):
        code, text = self.reply()
        assert code == 220, f"greeting: {text!r}"
        return text

    def login(self, user, password):
        self.expect(f"USER {user}", 331)
        self.expect(f"PASS {password}", 230)

    def auth_tls(self, context):
        self.expect("AUTH TLS", 234)
        assert not self.buf, f"data after 234: {self.buf!r}"
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
        self.context = context

    def pasv(self):
        text = self.expect("PASV", 227)
        return parse_pasv(text)

    def epsv(self):
        text = self.expect("EPSV", 229)
        return parse_epsv(text)

    def data_connection(self, port, rcvbuf=None):
        """Connect to the passive port of the control connection's peer."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(IO_TIMEOUT)
        s.connect((self.sock.getpeername()[0], port))
        return s

    def wrap_data(self, s):
        """TLS on a data connection (PROT P), with the control connection's context."""
        return self.context.wrap_socket(s, server_hostname=self.host)

    def closed_within(self, seconds):
        """True when the server closes the connection within `seconds` (data before EOF is
        kept in self.buf, so reply() can read it later)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, min(0.5, deadline - time.monotonic())))
            try:
                chunk = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
                return True
            if not chunk:
                return True
            self.buf += chunk
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def parse_pasv(text):
    m = re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", text)
    assert m, f"unparsable 227: {text!r}"
    n = [int(x) for x in m.groups()]
    return ".".join(map(str, n[:4])), n[4] * 256 + n[5]


def parse_epsv(text):
    m = re.search(r"\((.)\1\1(\d+)\1\)", text)
    assert m, f"unparsable 229: {text!r}"
    return int(m.group(2))


def recv_all(s):
    out = bytearray()
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk


LIST_LINE = re.compile(
    r"^(?P<mode>[-dlcbps][rwxsStT-]{9})[+@.]?\s+(?P<links>\d+)\s+(?P<owner>\S+)\s+(?P<group>\S+)\s+"
    r"(?P<size>\d+)\s+(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(?P<day>\d{1,2})\s+"
    r"(?P<time>\d{1,2}:\d{2}|\d{4})\s(?P<name>.+)$")


def parse_list(lines):
    """{name: match} of `ls -l` style lines; asserts every non-total line has that form."""
    out = {}
    for line in lines:
        if not line.strip() or line.startswith("total "):
            continue
        m = LIST_LINE.match(line)
        assert m, f"LIST line not in `ls -l` form: {line!r}"
        name = m.group("name")
        if m.group("mode").startswith("l") and " -> " in name:
            name = name.split(" -> ", 1)[0]
        out[name] = m
    return out


def parse_facts(line):
    """An MLSx line -> ({fact: value} with lowercase fact names, name)."""
    facts, _, name = line.partition(" ")
    d = {}
    for f in facts.split(";"):
        if f:
            k, _, v = f.partition("=")
            d[k.lower()] = v
    return d, name


# --------------------------------------------------------------------------
# certificates
# --------------------------------------------------------------------------
def make_cert(directory, cn="localhost"):
    """A self-signed EC certificate naming 127.0.0.1 and localhost: (cert.pem, key.pem)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    p = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", f"/CN={cn}",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, f"openssl req failed: {p.stderr.decode(errors='replace')}"
    return str(cert), str(key)


def cert_sha256(pem_path):
    """Lowercase hex SHA-256 fingerprint of a PEM certificate (via openssl)."""
    p = subprocess.run(["openssl", "x509", "-in", str(pem_path), "-noout", "-fingerprint", "-sha256"],
                       capture_output=True, timeout=30, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout.strip().split("=", 1)[1].replace(":", "").lower()


def cert_names(pem_path):
    """(IP SANs, DNS SANs, CN) of a PEM certificate."""
    p = subprocess.run(["openssl", "x509", "-in", str(pem_path), "-noout", "-text"], capture_output=True,
                       timeout=30, text=True)
    assert p.returncode == 0, p.stderr
    ips = re.findall(r"IP Address:([0-9.]+)", p.stdout)
    dns = re.findall(r"DNS:([^,\s]+)", p.stdout)
    m = re.search(r"Subject:.*?CN\s*=\s*([^,\n/]+)", p.stdout)
    return ips, dns, (m.group(1).strip() if m else None)


# --------------------------------------------------------------------------
# pyftpdlib, as a server for developing the tests
# --------------------------------------------------------------------------
def free_port_range(n, lo=20000, hi=32000):
    """`n` consecutive loopback ports that are free now (below Linux's ephemeral range)."""
    import random
    for _ in range(200):
        base = random.randrange(lo, hi - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base, base + n - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free port range")


def _die_with_parent():
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class PyftpdlibServer:
    """pyftpdlib in a subprocess (this file with --serve), logging to a file like WharfServer."""

    def __init__(self, base, cert=None, key=None, **options):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.home = self.base / "home"
        self.home.mkdir(exist_ok=True)
        if cert is None:
            cert, key = make_cert(self.base / "tls")
        self.cert, self.key = cert, key
        self.cafile = cert
        self.options = options
        self.log_path = str(self.base / "server.log")
        self.proc = None
        self.ftp_port = self.ftps_port = None
        from conftest import ALICE_PASSWORD
        self.user, self.password = "alice", ALICE_PASSWORD

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start(self):
        o = self.options
        args = [sys.executable, os.path.abspath(__file__), "--serve", "--home", str(self.home),
                "--user", self.user, "--password", self.password, "--cert", self.cert, "--key", self.key,
                "--tls", o.get("tls", "optional")]
        lo, hi = o.get("passive_ports") or free_port_range(200)
        args += ["--passive-ports", f"{lo}-{hi}"]
        for opt, flag in (("idle_timeout", "--idle-timeout"), ("data_timeout", "--data-timeout"),
                          ("max_connections", "--max-connections"),
                          ("max_connections_per_ip", "--max-connections-per-ip"),
                          ("login_failure_delay", "--login-failure-delay"), ("public_host", "--public-host"),
                          ("anonymous_root", "--anonymous-root")):
            if o.get(opt) is not None:
                args += [flag, str(o[opt])]
        if o.get("disable_active"):
            args.append("--disable-active")
        # Variants and injected faults for the FTP client tests (ftp_client_fixtures.py); all off by default.
        for opt, flag in (("list_only", "--list-only"), ("no_epsv", "--no-epsv"), ("log_commands", "--log-commands")):
            if o.get(opt):
                args.append(flag)
        for opt, flag in (("list_format", "--list-format"), ("drop_retr_after", "--drop-retr-after"),
                          ("drop_stor_after", "--drop-stor-after"), ("drop_mode", "--drop-mode"),
                          ("stall_retr_after", "--stall-retr-after"), ("hang_commands", "--hang-commands")):
            if o.get(opt) is not None:
                args += [flag, str(o[opt])]
        implicit = o.get("tls", "optional") != "off"
        if implicit:
            args.append("--implicit")
        logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     cwd=str(self.base), preexec_fn=_die_with_parent)
        logf.close()
        from helpers import wait_for_line
        m = wait_for_line(self.log, r"(?<![A-Z])FTP listening on 127\.0\.0\.1:(\d+)", START_TIMEOUT, self.proc)
        assert m, f"pyftpdlib did not start:\n{self.log()[-3000:]}"
        self.ftp_port = int(m.group(1))
        if implicit:
            m = wait_for_line(self.log, r"FTPS listening on 127\.0\.0\.1:(\d+)", START_TIMEOUT, self.proc)
            assert m, f"pyftpdlib did not start its implicit-TLS listener:\n{self.log()[-3000:]}"
            self.ftps_port = int(m.group(1))
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _serve(argv):
    """The pyftpdlib server (run in a subprocess)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--home", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--tls", default="optional", choices=["off", "optional", "required"])
    ap.add_argument("--passive-ports")
    ap.add_argument("--idle-timeout", type=float)
    ap.add_argument("--data-timeout", type=float)
    ap.add_argument("--max-connections", type=int, default=4000)
    ap.add_argument("--max-connections-per-ip", type=int, default=1000)
    ap.add_argument("--login-failure-delay", type=float, default=0.2)
    ap.add_argument("--public-host")
    ap.add_argument("--anonymous-root")
    ap.add_argument("--disable-active", action="store_true")
    ap.add_argument("--implicit", action="store_true")
    # For the FTP client tests (ftp_client_fixtures.py):
    ap.add_argument("--list-only", action="store_true", help="no MLSD/MLST (LIST only, as old servers)")
    ap.add_argument("--no-epsv", action="store_true", help="no EPSV/EPRT (500, not in FEAT): PASV/PORT only")
    ap.add_argument("--list-format", choices=["unix", "dos"], default="unix",
                    help="dos: LIST lines as IIS prints them (MM-DD-YY  HH:MMAM <DIR>/size name), SYST Windows_NT")
    ap.add_argument("--log-commands", action="store_true", help="log every command line (PASS masked) as 'CMD [port] line'")
    ap.add_argument("--drop-retr-after", type=int, help="the first RETR: drop the data connection after N bytes")
    ap.add_argument("--drop-stor-after", type=int, help="the first STOR/APPE: drop the data connection after N bytes")
    ap.add_argument("--drop-mode", choices=["data", "session"], default="data",
                    help="data: close the data connection and answer 426; session: close data and control, no reply")
    ap.add_argument("--stall-retr-after", type=int, help="every RETR: stop sending after N bytes, connection kept open")
    ap.add_argument("--hang-commands", default="", help="comma-separated verbs that are never answered")
    a = ap.parse_args(argv)

    import logging
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import DTPHandler, FTPHandler, TLS_DTPHandler, TLS_FTPHandler
    from pyftpdlib.ioloop import IOLoop
    from pyftpdlib.servers import FTPServer

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    auth = DummyAuthorizer()
    auth.add_user(a.user, a.password, a.home, perm="elradfmwMT")
    if a.anonymous_root:
        auth.add_anonymous(a.anonymous_root)

    base = FTPHandler if a.tls == "off" else TLS_FTPHandler
    dtp = DTPHandler if a.tls == "off" else TLS_DTPHandler

    log = logging.getLogger("wharf-test-server")
    faults = {"RETR": a.drop_retr_after, "STOR": a.drop_stor_after}   # armed until they fire once
    injecting = a.drop_retr_after is not None or a.drop_stor_after is not None or a.stall_retr_after is not None

    class DTP(dtp):
        if injecting:
            _stalled = False

            def use_sendfile(self):
                return False   # count every byte through send()

            def handle_read_event(self):
                super().handle_read_event()
                self._inject()

            def handle_write_event(self):
                super().handle_write_event()
                self._inject()

            def _inject(self):
                if self._closed or self.file_obj is None:   # listings are left alone
                    return
                verb = "STOR" if self.receive else "RETR"
                done = self.tot_bytes_received if self.receive else self.tot_bytes_sent
                limit = faults[verb]
                if limit is not None and done >= limit:
                    faults[verb] = None
                    log.info("FAULT drop %s after %d bytes (mode %s)", verb, done, a.drop_mode)
                    if a.drop_mode == "session":
                        control = self.cmd_channel
                        self._resp = ()
                        self.close()
                        control.close()
                    else:
                        self._resp = ("426 Data connection dropped (fault injected); transfer aborted.", log.info)
                        self.close()
                    return
                if (verb == "RETR" and a.stall_retr_after is not None and not self._stalled
                        and done >= a.stall_retr_after):
                    self._stalled = True
                    log.info("FAULT stall RETR after %d bytes", done)
                    self._wanted_io_events = self.ioloop.READ
                    self.modify_ioloop_events(self.ioloop.READ)

    if a.data_timeout:
        DTP.timeout = a.data_timeout

    hang = {c.strip().upper() for c in a.hang_commands.split(",") if c.strip()}
    removed = set()
    if a.list_only:
        removed |= {"MLSD", "MLST"}
    if a.no_epsv:
        removed |= {"EPSV", "EPRT"}

    from pyftpdlib.filesystems import AbstractedFS

    class DosFS(AbstractedFS):
        """LIST lines as IIS prints them: `09-13-20  12:26PM       <DIR>          name`."""

        def format_list(self, basedir, listing, ignore_err=True):
            for basename in listing:
                try:
                    st = self.stat(os.path.join(basedir, basename))
                except OSError:
                    if ignore_err:
                        continue
                    raise
                date = time.strftime("%m-%d-%y  %I:%M%p", time.gmtime(st.st_mtime))
                if (st.st_mode & 0o170000) == 0o040000:
                    line = f"{date}       <DIR>          {basename}\r\n"
                else:
                    line = f"{date} {st.st_size:>20} {basename}\r\n"
                yield line.encode(self.cmd_channel.encoding, self.cmd_channel.unicode_errors)

    class Handler(base):
        dtp_handler = DTP
        authorizer = auth
        auth_failed_timeout = a.login_failure_delay
        if a.idle_timeout:
            timeout = a.idle_timeout
        if a.passive_ports:
            lo, hi = map(int, a.passive_ports.split("-"))
            passive_ports = list(range(lo, hi + 1))
        if a.public_host:
            masquerade_address = a.public_host
        if a.tls != "off":
            certfile, keyfile = a.cert, a.key
            tls_control_required = tls_data_required = a.tls == "required"

        if removed:
            proto_cmds = {k: v for k, v in base.proto_cmds.items() if k not in removed}
        if a.list_format == "dos":
            abstracted_fs = DosFS

            def ftp_SYST(self, line):
                self.respond("215 Windows_NT")

        if a.log_commands:
            def pre_process_command(self, line, cmd, arg):
                shown = line if cmd != "PASS" else "PASS ******"
                log.info("CMD [%s] %s", self.remote_port, shown)
                return super().pre_process_command(line, cmd, arg)

        if hang:
            def process_command(self, cmd, *args, **kwargs):
                if cmd in hang:
                    log.info("FAULT not answering %s", cmd)
                    return None
                return super().process_command(cmd, *args, **kwargs)

        def ftp_PORT(self, line):
            if a.disable_active:
                return self.respond("502 Active mode is disabled.")
            return super().ftp_PORT(line)

        def ftp_EPRT(self, line):
            if a.disable_active:
                return self.respond("502 Active mode is disabled.")
            return super().ftp_EPRT(line)

    class ImplicitHandler(Handler):
        def handle(self):
            self.secure_connection(self.ssl_context)
            super().handle()

    ioloop = IOLoop.instance()
    servers = [FTPServer(("127.0.0.1", 0), Handler, ioloop=ioloop)]
    if a.implicit and a.tls != "off":
        servers.append(FTPServer(("127.0.0.1", 0), ImplicitHandler, ioloop=ioloop))
    for s in servers:
        # pyftpdlib compares its whole socket map (listeners and the new connection included).
        s.max_cons = a.max_connections + len(servers)
        s.max_cons_per_ip = a.max_connections_per_ip
    print(f"FTP listening on 127.0.0.1:{servers[0].address[1]}", file=sys.stderr, flush=True)
    if len(servers) > 1:
        print(f"FTPS listening on 127.0.0.1:{servers[1].address[1]}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    servers[0].serve_forever(timeout=0.5)


# --------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------
try:
    import pytest
except ImportError:  # the --serve subprocess does not need it
    pytest = None


def _wharf_target(srv):
    assert srv.ftp_port is not None, (
        f"{srv.bin} serves no FTP: `wharf serve --help` lists no --ftp-listen (the FTP tests need it)")
    from conftest import serve_help
    assert "--ftps-listen" in serve_help(srv.bin), f"{srv.bin}: `wharf serve --help` lists no --ftps-listen"
    return FTPTarget(host="127.0.0.1", port=srv.ftp_port, implicit_tls_port=srv.ftps_port, user=srv.user,
                     password=srv.password, home=Path(srv.home), cafile=srv.cafile, kind="wharf", log=srv.log,
                     server=srv, data_dir=srv.data_dir)


def _pyftpdlib_target(srv):
    return FTPTarget(host="127.0.0.1", port=srv.ftp_port, implicit_tls_port=srv.ftps_port, user=srv.user,
                     password=srv.password, home=srv.home, cafile=srv.cafile, kind="pyftpdlib", log=srv.log,
                     server=srv)


if pytest is not None:
    wharf_only = pytest.mark.wharf_only

    @pytest.fixture(scope="session")
    def _pyftpdlib_main(tmp_path_factory):
        srv = PyftpdlibServer(tmp_path_factory.mktemp("pyftpdlib-main")).start()
        yield srv
        srv.stop()

    @pytest.fixture
    def ftp_target(request):
        """The FTP server under test: the shared `wharf serve` (default) or pyftpdlib
        (WHARF_FTP_TARGET=pyftpdlib)."""
        if TARGET_KIND == "pyftpdlib":
            srv = request.getfixturevalue("_pyftpdlib_main")
            if srv.proc.poll() is not None:
                srv.start()
            t = _pyftpdlib_target(srv)
        else:
            assert TARGET_KIND == "wharf", f"WHARF_FTP_TARGET={TARGET_KIND!r}: use wharf or pyftpdlib"
            t = _wharf_target(request.getfixturevalue("wharf_server"))
        if request.node.get_closest_marker("wharf_only") is not None and not os.environ.get("WHARF_FTP_RUN_WHARF_ONLY"):
            assert t.is_wharf, ("a wharf_only test ran against pyftpdlib: add -m 'not wharf_only' "
                                "with WHARF_FTP_TARGET=pyftpdlib")
        yield t
        assert t.alive(), f"the FTP server died during this test:\n{t.log()[-4000:]}"

    @pytest.fixture
    def make_ftp_target(request, tmp_path_factory):
        """Factory for an extra server of the target's kind with options:
        tls ("off"|"optional"|"required"), idle_timeout, data_timeout, max_connections,
        max_connections_per_ip, login_failure_delay, passive_ports (lo, hi), public_host,
        disable_active, anonymous_root, cert + key, extra_args (Wharf only)."""
        started = []

        def factory(**o):
            if TARGET_KIND == "pyftpdlib":
                srv = PyftpdlibServer(tmp_path_factory.mktemp("pyftpdlib-extra"), **o).start()
                started.append(srv)
                return _pyftpdlib_target(srv)
            args = []
            flags = {"tls": "--ftp-tls", "idle_timeout": "--ftp-idle-timeout", "data_timeout": "--ftp-data-timeout",
                     "max_connections": "--max-connections", "max_connections_per_ip": "--max-connections-per-ip",
                     "public_host": "--ftp-public-host", "anonymous_root": "--ftp-anonymous-root",
                     "cert": "--tls-cert", "key": "--tls-key"}
            for k, flag in flags.items():
                if o.get(k) is not None:
                    args += [flag, str(o[k])]
            if o.get("passive_ports"):
                lo, hi = o["passive_ports"]
                args += ["--ftp-passive-ports", f"{lo}-{hi}"]
            if o.get("disable_active"):
                args.append("--ftp-disable-active")
            args += list(o.get("extra_args", ()))
            kw = {}
            if o.get("login_failure_delay") is not None:
                kw["login_failure_delay"] = str(o["login_failure_delay"])
            srv = request.getfixturevalue("make_server")(extra_args=args, **kw)
            t = _wharf_target(srv)
            if o.get("cert"):
                t.cafile = o["cert"]
            return t

        yield factory
        for s in started:
            s.stop()

    @pytest.fixture
    def ftp_workdir(ftp_target, request):
        """A fresh directory in the login root: (remote "/name", local Path)."""
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:60] + "-" + uuid.uuid4().hex[:6]
        local = Path(ftp_target.home) / name
        if local.exists():
            shutil.rmtree(local)
        local.mkdir(parents=True)
        yield "/" + name, local
        shutil.rmtree(local, ignore_errors=True)

    @pytest.fixture(params=["plain", "tls"])
    def mode(request):
        """Control/data protection: plain FTP, or AUTH TLS with PROT P."""
        return request.param

    @pytest.fixture
    def ftp(ftp_target, mode):
        """A logged-in ftplib client in `mode`."""
        c = ftp_target.ftplib(mode)
        yield c
        try:
            c.close()
        except Exception:
            pass


def quit_quietly(c):
    try:
        c.quit()
    except Exception:
        try:
            c.close()
        except Exception:
            pass


if __name__ == "__main__" and "--serve" in sys.argv:
    _serve(sys.argv[1:])
