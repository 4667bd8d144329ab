"""Workload 7 of scripts/bench: Wharf's FTP client (`wharf get` / `wharf put`) side by side with curl,
both against the same vsftpd (issue 4 item 7; issue 6's target: 1 GiB RETR/STOR at least as fast as
curl on the same machine in the same run).

Four measures, each alternating wharf and curl (A B, B A, ..., after a warm-up round):

- RETR of the big file (--size-mib), plain FTP (`ftp://`) and explicit TLS (`ftpes://` for wharf,
  `--ssl-reqd` for curl: AUTH TLS, PBSZ 0, PROT P, data connections resuming the control
  connection's TLS session, which vsftpd's require_ssl_reuse=YES demands);
- STOR of the same file, plain and TLS. The main wharf row is `wharf put --no-temp` (STOR under the
  final name, as curl does); wharf's default (STOR to NAME.wharf-part, then RNFR/RNTO) is an
  informal extra row.

Both clients verify vsftpd's certificate against the harness's self-signed one (`--ca-file` /
`--cacert`; it names IP:127.0.0.1), and curl is held to the TLS version and suite that wharf
negotiates (read from `wharf -v` on a small probe file before the rounds), so that both encrypt
with the same cipher. vsftpd is workload 6's server (ftp.Vsftpd, started once per harness run),
serving a tmpfs directory; the clients read and write tmpfs files too. Every transfer's size is
checked, and the first transfer of each row is compared byte for byte with the source.
"""

import re
import statistics
import subprocess

from . import ftp
from .common import MiB, Measure, alternate, log, make_file, rm

WHARF_GET = "wharf get"
WHARF_PUT = "wharf put --no-temp"
WHARF_PUT_TEMP = "wharf put (temp name + rename)"
CURL = "curl"
PART = ".wharf-part"


def vsftpd_server(ctx):
    """vsftpd serving ctx.root/ftp (the very instance workload 6 uses when both run)."""
    root = ctx.root / "ftp"
    if not root.exists():
        root.mkdir()
        root.chmod(0o755)
    cert, key = ftp.make_cert(ctx.etc / "ftp-tls")
    server = ctx._get("vsftpd", lambda: ftp.Vsftpd(ctx.etc / "vsftpd", root, cert, key))
    return server, root, cert


def wharf_help_ok(wharf):
    p = subprocess.run([wharf, "get", "--help"], capture_output=True, text=True)
    need = ["--ca-file", "--retries"]
    missing = [o for o in need if o not in p.stdout]
    p2 = subprocess.run([wharf, "put", "--help"], capture_output=True, text=True)
    if "--no-temp" not in p2.stdout:
        missing.append("--no-temp (wharf put)")
    if "ftp://" not in p.stdout:
        missing.append("ftp:// URLs")
    if missing:
        raise RuntimeError(f"{wharf} has no FTP client ({', '.join(missing)} missing from `wharf get/put --help`): "
                           f"an old build? Rebuild it")


def wharf_argv(ctx, server, cert, op, local, name, tls, temp=False, verbose=False):
    url = f"{'ftpes' if tls else 'ftp'}://{server.user}@127.0.0.1:{server.port}/{name}"
    argv = [ctx.wharf, op, "-v" if verbose else "-q", "--retries", "0"]
    if tls:
        argv += ["--ca-file", cert]
    if op == "put" and not temp:
        argv.append("--no-temp")
    argv += [url, str(local)] if op == "get" else [str(local), url]
    return argv


def wharf_env(server):
    import os
    env = dict(os.environ)
    env["WHARF_PASSWORD"] = server.password   # not in the URL: it would show in ps and error messages
    return env


def curl_argv(server, cert, op, local, name, tls, tls_args, verbose=False):
    argv = ["curl", "-v" if verbose else "-sS", "--user", f"{server.user}:{server.password}",
            "--connect-timeout", "30"]
    if tls:
        argv += ["--ssl-reqd", "--cacert", cert, *tls_args]
    argv += ["-o", str(local)] if op == "get" else ["-T", str(local)]
    argv.append(f"ftp://127.0.0.1:{server.port}/{name}")
    return argv


_HANDSHAKE = re.compile(r"TLS handshake done")


def wharf_tls(stderr):
    """[(version, cipher, resumed)] of every TLS handshake in `wharf -v` output (control first)."""
    out = []
    for line in stderr.decode(errors="replace").splitlines():
        if not _HANDSHAKE.search(line):
            continue
        v = re.search(r"tls\.version=(\S+)", line)
        c = re.search(r"tls\.cipher=(\S+)", line)
        r = re.search(r"tls\.resumed=(\S+)", line)
        out.append((v.group(1) if v else "?", c.group(1) if c else "?", r.group(1) if r else "?"))
    if not out:
        m = re.search(r"FTP control TLS: (\S+) (\S+)", stderr.decode(errors="replace"))
        if m:
            out.append((m.group(1), m.group(2), "?"))
    return out


def curl_tls_args(version, cipher):
    """curl options that hold it to wharf's TLS version and suite."""
    if version == "TLSv1.3" and cipher.startswith("TLS_"):
        return ["--tlsv1.3", "--tls13-ciphers", cipher]
    if version == "TLSv1.2" and cipher not in ("?", "unknown"):
        return ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", cipher]
    return []


def same_content(a, b, chunk=8 * MiB):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(chunk), fb.read(chunk)
            if x != y:
                return False
            if not x:
                return True


def w7(ctx):
    server, root, cert = vsftpd_server(ctx)
    wharf_help_ok(ctx.wharf)
    size_mib = ctx.size_mib
    size = size_mib * MiB
    src = root / "big.bin"               # the same file workload 6 serves
    if not src.exists() or src.stat().st_size != size:
        make_file(src, size)
    dl = ctx.dest / "ftp-client-download.bin"
    up_name = "ftp-client-upload.bin"
    up = root / up_name
    hide = (server.password,)
    env = wharf_env(server)

    # what wharf negotiates, on a small file before the rounds; curl is then held to the same
    probe = root / "probe.bin"
    make_file(probe, 256 * 1024)
    probe_dl = ctx.dest / "probe.bin"
    rm(probe_dl)
    _, p = ftp.timed(wharf_argv(ctx, server, cert, "get", probe_dl, probe.name, True, verbose=True), ctx.timeout,
                     "wharf -v get (TLS probe)", env=env, hide=hide, server=server)
    handshakes = wharf_tls(p.stderr)
    probe_log = p.stderr.decode(errors="replace")
    rm(probe_dl)
    rm(probe)
    if not handshakes:
        raise RuntimeError("`wharf -v get ftpes://…` logged no TLS handshake:\n" + probe_log[-2000:])
    w_version, w_cipher = handshakes[0][0], handshakes[0][1]
    tls_args = curl_tls_args(w_version, w_cipher)
    logins = len(re.findall(r"FTP logged in", probe_log))
    log(f"  wharf TLS (probe): {handshakes}; {logins} login(s); curl gets {tls_args}")

    tls_info = {"wharf": ", ".join(f"{'control' if i == 0 else 'data'} {v} {c}"
                                   f"{' (resumed)' if r == 'true' else ' (full handshake)' if r == 'false' else ''}"
                                   for i, (v, c, r) in enumerate(handshakes))}
    compared = set()

    def check_get(label, tls):
        got = dl.stat().st_size if dl.exists() else -1
        if got != size:
            raise RuntimeError(f"{label} RETR{' TLS' if tls else ''}: {got} bytes, expected {size}")
        part = dl.with_name(dl.name + PART)
        if part.exists():
            raise RuntimeError(f"{label} RETR left {part.name} behind")
        if (label, tls) not in compared:
            if not same_content(src, dl):
                raise RuntimeError(f"{label} RETR{' TLS' if tls else ''}: the download differs from the source")
            compared.add((label, tls))

    def check_put(label, tls):
        got = up.stat().st_size if up.exists() else -1
        if got != size:
            raise RuntimeError(f"{label} STOR{' TLS' if tls else ''}: {got} bytes arrived, expected {size}")
        part = up.with_name(up.name + PART)
        if part.exists():
            raise RuntimeError(f"{label} STOR left {part.name} behind")
        if (label, "put", tls) not in compared:
            if not same_content(src, up):
                raise RuntimeError(f"{label} STOR{' TLS' if tls else ''}: the upload differs from the source")
            compared.add((label, "put", tls))

    def clean_get():
        rm(dl)
        rm(dl.with_name(dl.name + PART))   # a leftover .wharf-part would make wharf resume

    def clean_put():
        rm(up)
        rm(up.with_name(up.name + PART))

    def retr(label, tls):
        def f():
            clean_get()
            if label == CURL:
                verbose = tls and "curl" not in tls_info
                dt, p = ftp.timed(curl_argv(server, cert, "get", dl, src.name, tls, tls_args, verbose=verbose),
                                  ctx.timeout, "curl RETR", hide=hide, server=server)
                if verbose:
                    tls_info["curl"] = ftp.tls_negotiated(p.stderr)
            else:
                dt, _ = ftp.timed(wharf_argv(ctx, server, cert, "get", dl, src.name, tls), ctx.timeout,
                                  "wharf get", env=env, hide=hide, server=server)
            check_get(label, tls)
            return dt
        return f

    def stor(label, tls):
        def f():
            clean_put()
            if label == CURL:
                dt, _ = ftp.timed(curl_argv(server, cert, "put", src, up_name, tls, tls_args), ctx.timeout,
                                  "curl STOR", hide=hide, server=server)
            else:
                dt, _ = ftp.timed(wharf_argv(ctx, server, cert, "put", src, up_name, tls,
                                             temp=(label == WHARF_PUT_TEMP)),
                                  ctx.timeout, label, env=env, hide=hide, server=server)
            check_put(label, tls)
            return dt
        return f

    get_impls = [WHARF_GET, CURL]
    put_impls = [WHARF_PUT, CURL, WHARF_PUT_TEMP]
    m_rp = Measure(f"RETR {size_mib} MiB, plain", size_mib, "MiB", get_impls, WHARF_GET, writes=size_mib * MiB)
    m_sp = Measure(f"STOR {size_mib} MiB, plain", size_mib, "MiB", put_impls, WHARF_PUT, writes=size_mib * MiB)
    m_rt = Measure(f"RETR {size_mib} MiB, TLS", size_mib, "MiB", get_impls, WHARF_GET, writes=size_mib * MiB)
    m_st = Measure(f"STOR {size_mib} MiB, TLS", size_mib, "MiB", put_impls, WHARF_PUT, writes=size_mib * MiB)
    for m in (m_sp, m_st):
        m.informal = {WHARF_PUT_TEMP}
    try:
        alternate(ctx, [(m_rp, {i: retr(i, False) for i in get_impls}),
                        (m_sp, {i: stor(i, False) for i in put_impls}),
                        (m_rt, {i: retr(i, True) for i in get_impls}),
                        (m_st, {i: stor(i, True) for i in put_impls})])
    finally:
        clean_get()
        clean_put()
    if not server.alive():
        raise RuntimeError(f"vsftpd died during the workload; its log:\n{server.log_text()[-3000:]}")
    measures = [m_rp, m_sp, m_rt, m_st]
    return {"title": "7. FTP client: `wharf get/put` vs curl (server: vsftpd)",
            "measures": measures,
            "note": _note(ctx, server, tls_info, tls_args, logins, measures)}


def _verdict(measures):
    met, not_met = [], []
    for m in measures:
        w, c = m.runs[m.wharf_impl], m.runs[CURL]
        if not w or not c:
            continue
        r = statistics.median(c) / statistics.median(w)     # = Wharf MiB/s / curl MiB/s
        (met if r >= 1 else not_met).append(f"{m.name} {r:.2f}×")
    parts = []
    if met:
        parts.append("met for " + ", ".join(met))
    if not_met:
        parts.append("**not met** for " + ", ".join(not_met))
    return "; ".join(parts) if parts else "n/a"


def _note(ctx, server, tls_info, tls_args, logins, measures):
    v = ftp.versions()
    curl_tls = " ".join(tls_args) if tls_args else "(no version or suite options)"
    return "\n\n".join([
        f"Clients, one process per transfer timed from spawn to exit (connect, login and, for TLS, the "
        f"handshakes included), alternating wharf and curl: `wharf get -q --retries 0 ftp://{server.user}@…/big.bin "
        f"FILE` and `wharf put -q --retries 0 --no-temp big.bin ftp://…/NAME` (password from `WHARF_PASSWORD`), "
        f"TLS rows `ftpes://…` with `--ca-file cert.pem`; {v.get('curl', 'curl')}: `curl -sS --user U:P -o FILE "
        f"ftp://…/big.bin` (RETR) and `curl -sS --user U:P -T big.bin ftp://…/NAME` (STOR), TLS rows with "
        f"`--ssl-reqd --cacert cert.pem {curl_tls}`. Both verify the certificate (ECDSA P-256, self-signed, "
        f"IP:127.0.0.1) and use passive mode (EPSV), binary; wharf's TLS is its own handler on the system "
        f"OpenSSL, curl's is libcurl's OpenSSL. curl is held to the TLS version and suite wharf negotiates "
        f"(read from `wharf -v` on a 256 KiB probe file before the rounds; wharf logged in "
        f"{'once' if logins == 1 else f'{logins} times'} for it). Negotiated: " + "; ".join(f"{k}: {val}" for k, val in tls_info.items()) + ".",
        f"`{WHARF_PUT}` writes under the final name as curl does; `{WHARF_PUT_TEMP}` is wharf's default "
        f"(STOR to NAME{PART}, then RNFR/RNTO): informal, no ratio. Downloads always land in FILE{PART} and "
        f"are renamed (wharf's only way). Before every run the previous result and any `{PART}` file are "
        f"deleted (a leftover would make wharf resume); after every run the size is checked, and the first "
        f"run of each row is compared byte for byte with the source. Source, destination and vsftpd's "
        f"directory are on {ctx.dest_kind}.",
        f"Server: vsftpd {v.get('vsftpd')}, configured as for workload 6 (the same instance when both "
        f"run; `require_ssl_reuse=YES`): {server.config}.",
        f"Issue 6's target (Wharf's MiB/s / curl's MiB/s ≥ 1): {_verdict(measures)}.",
    ])
