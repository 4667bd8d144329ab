"""BENCHMARKS.md and the charts in benchmarks/ for scripts/bench."""

import datetime
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

from .common import CIPHER, log


def _out(argv, cwd=None):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
        return (p.stdout + p.stderr).strip()
    except Exception as e:  # noqa: BLE001
        return f"unknown ({e})"


def free_page_reporting():
    """Whether a virtio balloon with free page reporting (feature bit 5) gives freed memory back to
    the host: writing to such pages again costs a host fault per page (on the machine of
    BENCHMARKS.md, filling tmpfs at 0.3–0.4 GB/s instead of 2.2 GB/s), so how much memory a
    transfer needs beyond what was freed just before it shows in its time."""
    for dev in Path("/sys/bus/virtio/devices").glob("*"):
        try:
            if (dev / "device").read_text().strip() == "0x0005" and (dev / "features").read_text()[5:6] == "1":
                return True
        except OSError:
            continue
    return False


def environment(repo, wharf, dest_kind, args, elapsed):
    cpu = "unknown"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if m:
            cpu = m.group(1).strip()
    except OSError:
        pass
    commit = _out(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo)
    dirty = _out(["git", "status", "--porcelain", "--untracked-files=no", "--", "Sources", "Package.swift"], cwd=repo)
    versions = {}
    for mod in ("asyncssh", "paramiko"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = "not installed"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "kernel": f"{platform.system()} {platform.release()}",
        "openssh": _out(["ssh", "-V"]).splitlines()[0] if _out(["ssh", "-V"]) else "unknown",
        "swift": _out(["swift", "--version"]).splitlines()[0] if _out(["swift", "--version"]) else "unknown",
        "commit": commit + (" (with uncommitted changes to Sources)" if dirty else ""),
        "binary": wharf,
        "python": platform.python_version(),
        "versions": versions,
        "cipher": CIPHER,
        "dest": dest_kind,
        "elapsed": elapsed,
        "page_reporting": free_page_reporting(),
    }


def _fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def _thr(m, impl):
    runs = m.runs[impl]
    return m.amount / statistics.median(runs) if runs else None


def _ratio(m, impl):
    if impl == m.wharf_impl:
        return "—"
    if impl in getattr(m, "informal", ()):
        return "(informal)"
    w, p = _thr(m, m.wharf_impl), _thr(m, impl)
    if not w or not p:
        return "n/a"
    return f"**{w / p:.2f}×**"


def _round_ratios(m, impl):
    """Wharf/peer per round (each round runs both, one right after the other), min–max: the
    spread of the ratio itself, which drifts less with the machine's load than two medians do."""
    if impl == m.wharf_impl or impl in getattr(m, "informal", ()):
        return "—"
    pairs = [(w, p) for w, p in zip(m.runs[m.wharf_impl], m.runs[impl]) if w > 0]
    if not pairs:
        return "n/a"
    ratios = [p / w for w, p in pairs]
    return f"{min(ratios):.2f}–{max(ratios):.2f}"


def _x(v):
    """A ratio: one decimal, two below 1 (so that 0.04 does not read 0.0)."""
    return f"{v:.1f}" if abs(v) >= 1 else f"{v:.2f}"


def _pct(xs, q):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _measure_table(measures):
    lines = ["| operation | implementation | median s | min–max s | throughput | Wharf/peer | per round |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for m in measures:
        for impl in m.impls:
            runs = m.runs[impl]
            if not runs:
                lines.append(f"| {m.name} | {impl} | — | — | — | — | — |")
                continue
            med = statistics.median(runs)
            lines.append(f"| {m.name} | {impl} | {_fmt_s(med)} | {_fmt_s(min(runs))}–{_fmt_s(max(runs))} | "
                         f"{m.amount / med:,.1f} {m.unit}/s | {_ratio(m, impl)} | {_round_ratios(m, impl)} |")
    return lines


def _idle_rows(idle):
    rows = {}
    for impl, d in idle.items():
        n = max(d["sessions"], 1)
        b, f = d["base"], d["full"]
        rows[impl] = {
            "n": d["sessions"], "procs": f["procs"],
            "rss": f["rss"], "pss": f["pss"], "fds": f["fds"],
            "rss_per": (f["rss"] - b["rss"]) / n, "pss_per": (f["pss"] - b["pss"]) / n,
            "fds_per": (f["fds"] - b["fds"]) / n,
        }
        if d.get("warm") and d["sessions"] > d["first"]:
            m = d["sessions"] - d["first"]
            rows[impl]["rss_marginal"] = (f["rss"] - d["warm"]["rss"]) / m
            rows[impl]["pss_marginal"] = (f["pss"] - d["warm"]["pss"]) / m
    return rows


def _build_kind(binary):
    parts = Path(binary).parts
    if "release" in parts:
        return "release build"
    if "debug" in parts:
        return "debug build"
    return f"binary `{binary}`"


def render(env, results, failures, args, charts_dir, repo):
    charts_dir = Path(charts_dir)
    L = ["# Benchmarks", ""]
    if args.smoke:
        L += ["**Smoke run** (tiny sizes, one round, no warm-up): checks that the harness works; "
              "the figures mean nothing.", ""]
    L += ["Generated by `scripts/bench` (issue 4). Every figure is a median over alternating runs "
          "(A B, B A, A B …: the order turns every round) in one session on one machine; **Wharf/peer** is a throughput ratio: above 1 "
          "means Wharf is faster (for idle sessions: less memory per session); **per round** is the lowest and "
          "highest of the ratios of each round's two runs.", "",
          "## When and where", "",
          f"- date: {env['date']}; harness run took {env['elapsed'] / 60:.1f} min",
          f"- machine: {env['cores']} cores, {env['cpu']}; {env['kernel']}"
          + ("; a virtual machine whose memory balloon reports free pages to the host (memory freed "
             "goes back to it, and the next write to it costs a host fault per page)" if env.get("page_reporting") else ""),
          f"- OpenSSH: {env['openssh']}",
          f"- Swift: {env['swift']}; wharf commit {env['commit']}, {_build_kind(env['binary'])}"
          + (f" (warning: {env['stale']} source file(s) newer than the binary)" if env.get("stale") else ""),
          *([f"- wharf binary `{env['binary']}`, given with `--wharf` (the commit above is the work tree's, "
             f"which need not be the binary's)"] if env.get("wharf_given") else []),
          f"- Python {env['python']}, asyncssh {env['versions']['asyncssh']}, paramiko {env['versions']['paramiko']}",
          f"- cipher: `{env['cipher']}` everywhere (OpenSSH clients `-c {env['cipher']}`, sshd `Ciphers "
          f"{env['cipher']}`, asyncssh `encryption_algs`, paramiko's cipher preference; `wharf get/put` "
          f"against sshd gets it because sshd offers nothing else); no compression",
          f"- files served from and written to {env['dest']}, so the disk does not decide",
          f"- parameters: big file {args.size_mib} MiB, {args.rounds} measured round(s) after "
          f"{'no' if args.smoke else 'one'} warm-up round; every server on 127.0.0.1; "
          f"`wharf serve --log-level notice --login-failure-delay 0 --max-connections 4000 --max-connections-per-ip 4000`, sshd `LogLevel ERROR`, "
          f"`MaxStartups 4000`, root login by ed25519 key",
          "- each run is one client process timed from spawn to exit (connection and login included)",
          "- before each timed run that writes a big file (workloads 1–3, 6, 7), 1.5 times its size is written to a "
          "scratch file in the tmpfs and deleted, untimed (`preheat_memory` in scripts/bench_lib/common.py), so that "
          "every run starts with recently written free memory (and before each ftpbench run of workload 6: its note "
          "gives the size); on a virtual machine that gives freed memory back to its host, the runs' times "
          "otherwise depend on which pages the kernel hands out", ""]
    if failures:
        L += ["## Workloads that failed to run", ""]
        for w, err in sorted(failures.items()):
            L.append(f"- workload {w}: `{err.splitlines()[0][:300]}`")
        L.append("")
    charts = _charts_available()
    for w in sorted(results):
        res = results[w]
        L += [f"## {res['title']}", ""]
        L += _measure_table(res["measures"])
        L.append("")
        if "per_session" in res:
            L += ["| per-session time | implementation | p50 s | p99 s | max s |", "|---|---|---:|---:|---:|"]
            for impl, xs in res["per_session"].items():
                if xs:
                    L.append(f"| {res['measures'][0].name.split(' (')[0]} | {impl} | {_fmt_s(_pct(xs, .5))} | "
                             f"{_fmt_s(_pct(xs, .99))} | {_fmt_s(max(xs))} |")
            L.append("")
        if "idle" in res:
            rows = _idle_rows(res["idle"])
            impls = list(rows)
            w_impl = impls[0]
            marginal = all("rss_marginal" in r for r in rows.values())
            L += [f"| idle {res.get('idle_what', 'SFTP')} sessions | implementation | processes | RSS total MiB | PSS total MiB | fds | "
                  "RSS per session KiB | PSS per session KiB | fds per session | "
                  + ("marginal RSS / PSS per session KiB | " if marginal else "")
                  + "Wharf/peer (RSS per session) |",
                  "|---:|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if marginal else "") + "---:|"]
            for impl in impls:
                r = rows[impl]
                ratio = "—" if impl == w_impl else (
                    f"**{_x(r['rss_per'] / rows[w_impl]['rss_per'])}×** (PSS "
                    f"{_x(r['pss_per'] / rows[w_impl]['pss_per'])}×)"
                    if rows[w_impl]["rss_per"] > 0 and rows[w_impl]["pss_per"] > 0 else "n/a")
                extra = (f"{r['rss_marginal'] / 1024:,.1f} / {r['pss_marginal'] / 1024:,.1f} | " if marginal else "")
                L.append(f"| {r['n']} | {impl} | {r['procs']} | {r['rss'] / 2**20:,.1f} | {r['pss'] / 2**20:,.1f} | "
                         f"{r['fds']} | {r['rss_per'] / 1024:,.1f} | {r['pss_per'] / 1024:,.1f} | "
                         f"{r['fds_per']:.2f} | {extra}{ratio} |")
            L += ["", "Per session = (with sessions − before) / sessions. RSS summed over processes counts "
                      "shared pages once per process (the issue's measure); PSS shares them out.", ""]
        for table in res.get("tables", []):
            L += table
            L.append("")
        if res.get("note"):
            L += [res["note"], ""]
        if charts:
            name = f"workload{w}.png"
            try:
                _chart(res, charts_dir / name)
                rel = os.path.relpath(charts_dir / name, repo) if not args.smoke else name
                L += [f"![workload {w}]({rel})", ""]
            except Exception as e:  # noqa: BLE001
                log(f"warning: chart for workload {w} failed: {e}")
    if not charts:
        L += ["(charts skipped: matplotlib is not available)", ""]
    L += ["## How to run", "",
          "```sh",
          "./scripts/test                       # once: installs OpenSSH, paramiko, asyncssh (matplotlib: pip install matplotlib)",
          "apt-get install vsftpd curl; pip install pyftpdlib pyopenssl   # workloads 6 and 7 (pyftpdlib is pip-installed when missing)",
          "scripts/bench                        # all workloads, 1 GiB, 5 rounds; writes BENCHMARKS.md and benchmarks/*.png",
          "scripts/bench --size-mib 512 --rounds 5 --workloads 1,3",
          "scripts/bench --smoke                # ~30 s check that the harness works (report to a temp file)",
          "```", "",
          f"This run: `scripts/bench {' '.join(_argv_summary(args))}`.".replace("  ", " "), ""]
    return "\n".join(L)


def _argv_summary(args):
    out = []
    if args.smoke:
        out.append("--smoke")
    out += ["--rounds", str(args.rounds), "--size-mib", str(args.size_mib), "--workloads", args.workloads]
    return out


_MPL = None


def _charts_available():
    global _MPL
    if _MPL is not None:
        return _MPL
    try:
        import matplotlib  # noqa: F401
        _MPL = True
    except ImportError:
        log("matplotlib missing: trying `python3 -m pip install matplotlib` ...")
        for extra in ([], ["--break-system-packages"]):
            p = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib", *extra],
                               capture_output=True, timeout=600)
            if p.returncode == 0:
                break
        try:
            import matplotlib  # noqa: F401,F811
            _MPL = True
        except ImportError:
            log("warning: matplotlib could not be installed; charts skipped, tables still written")
            _MPL = False
    return _MPL


def _chart(res, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    measures = res["measures"]
    panels = len(measures) + (1 if "idle" in res else 0)
    cols = panels if panels <= 4 else (panels + 1) // 2
    nrows = (panels + cols - 1) // cols
    fig, grid = plt.subplots(nrows, cols, figsize=(4.2 * cols, 4.2 * nrows), squeeze=False)
    flat = [ax for row in grid for ax in row]
    for ax in flat[panels:]:
        ax.axis("off")
    axes = [flat[:panels]]
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"]
    for ax, m in zip(axes[0], measures):
        vals = [_thr(m, i) or 0 for i in m.impls]
        lows = [v - m.amount / max(m.runs[i]) if m.runs[i] else 0 for v, i in zip(vals, m.impls)]
        highs = [m.amount / min(m.runs[i]) - v if m.runs[i] else 0 for v, i in zip(vals, m.impls)]
        ax.bar(range(len(vals)), vals, color=colors[:len(vals)], yerr=[lows, highs], capsize=4)
        ax.set_xticks(range(len(vals)))
        ax.set_xticklabels(m.impls, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel(f"{m.unit}/s (median; bars: min–max)")
        if getattr(m, "log_scale", False):
            ax.set_yscale("log")
            ax.set_ylabel(f"{m.unit}/s, log scale (median; bars: min–max)")
        ax.set_title(m.name, fontsize=9)
    if "idle" in res:
        rows = _idle_rows(res["idle"])
        ax = axes[0][-1]
        impls = list(rows)
        ax.bar(range(len(impls)), [rows[i]["rss_per"] / 1024 for i in impls], color=colors[:len(impls)],
               label="RSS")
        ax.bar(range(len(impls)), [rows[i]["pss_per"] / 1024 for i in impls], color="none", edgecolor="black",
               hatch="//", label="PSS")
        ax.set_xticks(range(len(impls)))
        ax.set_xticklabels(impls, rotation=20, ha="right", fontsize=8)
        ax.set_ylabel("KiB per idle session (lower is better)")
        if res.get("idle_log_scale"):
            ax.set_yscale("log")
            ax.set_ylabel("KiB per idle session, log scale (lower is better)")
        ax.set_title(f"{next(iter(rows.values()))['n']} idle {res.get('idle_what', 'SFTP')} sessions", fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(re.sub(r"`", "", res["title"])[:110], fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
