"""Small helpers for scripts/bench: ports, keys, processes, /proc figures."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

MiB = 1024 * 1024
CIPHER = "aes128-gcm@openssh.com"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def die_with_parent():
    """preexec_fn: the child gets SIGTERM when the harness dies (PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)
    except Exception:  # noqa: BLE001
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout, proc=None, banner=b"SSH-"):
    """True once something accepts TCP connections on 127.0.0.1:port and greets with `banner`
    (an SSH server's `SSH-`, an FTP server's `220`), and proc is alive."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                # SSH and FTP servers speak first: wait for the banner so that it is really serving
                s.settimeout(5)
                if s.recv(len(banner)).startswith(banner):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def keygen(path, kind="ed25519"):
    path = Path(path)
    for p in (path, Path(str(path) + ".pub")):
        if p.exists():
            p.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return str(path)


def _children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out


def proc_tree(pid):
    """Every descendant of pid (not pid itself)."""
    out, todo = [], [pid]
    while todo:
        for c in _children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def proc_rss_pss_fds(pid):
    """(RSS bytes, PSS bytes, open fds) of one process; zeros if it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
    except OSError:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
        except OSError:
            return 0, 0, 0
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = 0
    return rss, pss, fds


class Measure:
    """One operation measured against several implementations; `amount` per run in `unit`s
    (MiB, files, entries): throughput = amount / median seconds."""

    def __init__(self, name, amount, unit, impls, wharf_impl, writes=0):
        self.name = name
        # bytes a run writes to new files in the tmpfs (see preheat_memory)
        self.writes = writes
        self.amount = amount
        self.unit = unit
        self.impls = impls
        self.wharf_impl = wharf_impl
        self.runs = {i: [] for i in impls}


def turned(items, round_index):
    """`items` in the order of round `round_index`: as given in even rounds, reversed in odd ones."""
    return list(items) if round_index % 2 == 0 else list(reversed(items))


def alternate(ctx, measures_and_fns):
    """measures_and_fns: [(Measure, {impl: fn() -> seconds, with any set-up done inside})].
    Runs warm-up + rounds, every implementation once per operation per round, recording only
    measured rounds. The order turns round by round (A B C, then C B A, …), so that no
    implementation always runs first, or always right after another's run of the operation."""
    total = ctx.warmup + ctx.rounds
    for r in range(total):
        for m, fns in measures_and_fns:
            for impl in turned(m.impls, r):
                if m.writes:
                    preheat_memory(ctx.dest, m.writes * 3 // 2)
                dt = fns[impl]()
                if r >= ctx.warmup:
                    m.runs[impl].append(dt)
                log(f"  round {r + 1}/{total}{' (warm-up)' if r < ctx.warmup else ''} {m.name} "
                    f"{impl}: {dt:.3f}s")


def preheat_memory(directory, size):
    """Writes and deletes `size` bytes in `directory` (the tmpfs the runs write to), so that the
    run after it finds freed memory that has just been written.

    Why: on a virtual machine whose balloon reports free pages to the host (report.py's
    free_page_reporting), memory left free for a few seconds goes back to the host, and the next
    write to each page costs a host fault: on the 2-core machine of BENCHMARKS.md, filling tmpfs ran
    at 0.3-0.4 GB/s instead of 2.2 GB/s, and one binary's 1 GiB `sftp get` took 1.8-4.3 s depending
    on which pages the kernel handed its client. Every implementation gets the same start."""
    if size <= 0:
        return
    path = Path(directory) / ".bench-preheat"
    block = bytes(MiB)
    try:
        with open(path, "wb") as f:
            left = size
            while left > 0:
                n = min(left, MiB)
                f.write(block if n == MiB else block[:n])
                left -= n
    except OSError as e:   # a full tmpfs: the run then goes without
        log(f"  memory pre-heat skipped: {e}")
    finally:
        rm(path)


def make_file(path, size):
    chunk = os.urandom(MiB)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, MiB)
            f.write(chunk[:n])
            left -= n
            # vary the content a little so that nothing dedups or compresses it
            chunk = chunk[1:] + chunk[:1]


def rm(path):
    p = Path(path)
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists() or p.is_symlink():
        p.unlink()
