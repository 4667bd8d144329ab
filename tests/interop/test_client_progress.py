"""What the client prints: a progress bar on a terminal (checked under a pseudo-terminal with
util-linux `script`), nothing at all without one or with -q, protocol steps with -v."""

import re
import shlex
import subprocess

from client_fixtures import MiB, ok, target  # noqa: F401
from helpers import sha256_file, write_random


def _under_pty(target, argv, cwd, timeout=300):
    """Run argv under a pseudo-terminal; returns (exit status, everything the terminal showed)."""
    cmd = " ".join(shlex.quote(str(a)) for a in argv)
    env = target.env({"TERM": "xterm", "COLUMNS": "120", "LINES": "40"})
    p = subprocess.run(["script", "-qfec", cmd, "/dev/null"], capture_output=True, timeout=timeout,
                       cwd=str(cwd), env=env, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", errors="replace") + p.stderr.decode("utf-8", errors="replace")


def test_progress_bar_on_a_terminal(target, tmp_path):
    write_random(target.path("fifty.bin"), 50 * MiB)
    dest = tmp_path / "dest"
    dest.mkdir()
    rc, shown = _under_pty(target, target.argv("get", target.url("fifty.bin"), dest), tmp_path)
    assert rc == 0, f"get under a terminal exited {rc}:\n{shown[-3000:]}"
    assert sha256_file(dest / "fifty.bin") == sha256_file(target.path("fifty.bin"))
    assert "100%" in shown, f"no 100% in the terminal output:\n{shown[-3000:]!r}"
    assert re.search(r"\d(\.\d+)?\s*[KMG]?i?B/s", shown), f"no rate (…/s) in the terminal output:\n{shown[-3000:]!r}"
    assert "fifty.bin" in shown, f"the file's name is not shown:\n{shown[-3000:]!r}"
    # An upload shows one as well.
    src = tmp_path / "up.bin"
    write_random(src, 20 * MiB)
    rc, shown = _under_pty(target, target.argv("put", src, target.url("up.bin")), tmp_path)
    assert rc == 0, shown[-3000:]
    assert "100%" in shown and "/s" in shown, f"no progress on upload:\n{shown[-3000:]!r}"


def test_quiet_on_a_terminal_prints_nothing(target, tmp_path):
    write_random(target.path("q.bin"), 8 * MiB)
    rc, shown = _under_pty(target, target.argv("get", target.url("q.bin"), tmp_path / "q.bin", options=["-q"]),
                           tmp_path)
    assert rc == 0, shown
    assert shown.strip() == "", f"-q printed on a terminal:\n{shown!r}"
    assert sha256_file(tmp_path / "q.bin") == sha256_file(target.path("q.bin"))


def test_no_terminal_no_output(target, tmp_path):
    write_random(target.path("quiet.bin"), 50 * MiB)
    p = ok(target.wharf("get", target.url("quiet.bin"), tmp_path / "quiet.bin"), "get")
    assert p.stdout == "" and p.stderr == "", f"output without a terminal:\nstdout={p.stdout!r}\nstderr={p.stderr!r}"
    p = ok(target.wharf("put", tmp_path / "quiet.bin", target.url("again.bin")), "put")
    assert p.stdout == "" and p.stderr == "", f"output without a terminal:\nstdout={p.stdout!r}\nstderr={p.stderr!r}"
    for cmd in (["mkdir", target.url("d")], ["chmod", "0700", target.url("d")], ["rm", target.url("again.bin")],
                ["mv", target.url("d"), f"{target.rel}/e"]):
        p = ok(target.wharf(cmd[0], *cmd[1:]), cmd[0])
        assert p.stdout == "" and p.stderr == "", f"{cmd[0]} printed:\nstdout={p.stdout!r}\nstderr={p.stderr!r}"
    assert target.path("e").is_dir() and not target.path("again.bin").exists()


def test_verbose_logs_protocol_steps(target, tmp_path):
    target.path("v.txt").write_bytes(b"v")
    p = ok(target.wharf("get", target.url("v.txt"), tmp_path / "v.txt", options=["-v"]), "get -v")
    assert (tmp_path / "v.txt").read_bytes() == b"v"
    assert len(p.stderr.splitlines()) >= 3, f"-v logged almost nothing:\n{p.stderr}"
    assert re.search(r"auth|connect|sftp|version|open", p.stderr, re.I), p.stderr
