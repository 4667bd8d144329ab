"""Raw-socket FTP control-connection clients for workload 6, run by scripts/bench as a child
process (standalone: no imports from the package). The password comes from the environment
(BENCH_FTP_PASSWORD), not argv.

    python3 ftp_clients.py logins PORT USER N
        Opens N connections at once (asyncio, one process), each: read the 220 greeting, USER,
        PASS, wait for 230. Once all N are logged in (or failed), QUITs them all. Prints one JSON
        line: {"wall": seconds from the first connect to the last 230, "per": [seconds connect->230
        per login], "failed": n, "errors": [first few]}.

    python3 ftp_clients.py idle PORT USER N [FIRST]
        Opens and logs in N sessions the same way but at most 40 logins at a time (as workload 5's
        SFTP holder does), prints `READY opened failed`, holds them (idle: no command) until stdin
        gives a line or closes, then QUITs them all. With FIRST: opens FIRST sessions, prints
        `FIRST opened failed`, waits for a line on stdin, then opens the other N - FIRST.
"""

import asyncio
import json
import os
import sys
import time

TIMEOUT = float(os.environ.get("BENCH_FTP_TIMEOUT", "300"))
GREETING_TIMEOUT = float(os.environ.get("BENCH_FTP_GREETING_TIMEOUT", "2"))
MAX_CONNECTS = 30


async def reply(reader):
    """One FTP reply (multi-line aware); returns (code, text)."""
    line = (await reader.readline()).decode("utf-8", "replace")
    if len(line) < 4:
        raise ConnectionError(f"connection closed or short reply: {line!r}")
    code = line[:3]
    text = [line.rstrip("\r\n")]
    if line[3] == "-":
        while True:
            more = (await reader.readline()).decode("utf-8", "replace")
            if not more:
                raise ConnectionError("connection closed inside a multi-line reply")
            text.append(more.rstrip("\r\n"))
            if more[:3] == code and more[3:4] == " ":
                break
    return code, "\n".join(text)


async def expect(reader, want):
    code, text = await reply(reader)
    if code != want:
        raise RuntimeError(f"expected {want}, got {text!r}")


async def login(port, user, password, stats):
    """Connect, 220, USER, PASS, 230. A connection that gets no greeting within GREETING_TIMEOUT
    is closed and made again (counted in stats["reconnects"]): with every client connecting at
    once, a listener whose accept queue overflows (vsftpd listens with a backlog of 32,
    pyftpdlib with 100) answers the excess with SYN cookies and then drops their final ACK, so
    those clients believe they are connected while the server knows nothing of them; FTP's
    server-speaks-first greeting never comes and, without a timeout, they would wait forever."""
    t0 = time.perf_counter()
    for attempt in range(MAX_CONNECTS):
        t_attempt = time.perf_counter()
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
        try:
            code, text = await asyncio.wait_for(reply(reader), GREETING_TIMEOUT)
        except asyncio.TimeoutError:
            writer.close()
            stats["reconnects"] += 1
            continue
        except BaseException:
            writer.close()
            raise
        break
    else:
        raise RuntimeError(f"no greeting after {MAX_CONNECTS} connections of {GREETING_TIMEOUT}s each")
    stats["greeting"].append(time.perf_counter() - t_attempt)  # of the connection that got one
    try:
        if code != "220":
            raise RuntimeError(f"expected 220, got {text!r}")
        writer.write(f"USER {user}\r\n".encode())
        await expect(reader, "331")
        writer.write(f"PASS {password}\r\n".encode())
        await expect(reader, "230")
    except BaseException:
        writer.close()
        raise
    return reader, writer, time.perf_counter() - t0


async def quit_all(sessions):
    async def q(reader, writer):
        try:
            writer.write(b"QUIT\r\n")
            await asyncio.wait_for(reply(reader), 30)
        except Exception:  # noqa: BLE001
            pass
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except Exception:  # noqa: BLE001
                pass
    await asyncio.gather(*(q(r, w) for r, w, _ in sessions))


async def open_sessions(port, user, password, n, stats, at_once=None):
    """n logins, all started at once (or at most `at_once` at a time). Returns (sessions, errors, wall)."""
    t0 = time.perf_counter()
    done_at = []
    sem = asyncio.Semaphore(at_once or n)

    async def one():
        async with sem:
            s = await asyncio.wait_for(login(port, user, password, stats), TIMEOUT)
        done_at.append(time.perf_counter())
        return s
    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    sessions = [r for r in results if not isinstance(r, BaseException)]
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    wall = (max(done_at) - t0) if done_at else float("nan")
    return sessions, errors, wall


def main(argv):
    kind, port, user, n = argv[0], int(argv[1]), argv[2], int(argv[3])
    first = int(argv[4]) if len(argv) > 4 else 0
    password = os.environ["BENCH_FTP_PASSWORD"]
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < n + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    except Exception:  # noqa: BLE001
        pass

    stats = {"reconnects": 0, "greeting": []}

    async def logins():
        sessions, errors, wall = await open_sessions(port, user, password, n, stats)
        await quit_all(sessions)
        print(json.dumps({"wall": wall, "per": [s[2] for s in sessions], "failed": len(errors),
                          "errors": errors[:3], "reconnects": stats["reconnects"],
                          "greeting": stats["greeting"]}), flush=True)

    async def idle():
        sessions, errors = [], []
        wait = asyncio.get_running_loop().run_in_executor
        if first:
            got, errs, _ = await open_sessions(port, user, password, first, stats, at_once=40)
            sessions += got
            errors += errs
            print(f"FIRST {len(got)} {len(errs)}", flush=True)
            await wait(None, sys.stdin.readline)
        got, errs, _ = await open_sessions(port, user, password, n - first, stats, at_once=40)
        sessions += got
        errors += errs
        for e in errors[:3]:
            print(f"session failed: {e}", file=sys.stderr, flush=True)
        print(f"READY {len(sessions)} {len(errors)}", flush=True)
        await wait(None, sys.stdin.readline)
        await quit_all(sessions)

    asyncio.run(logins() if kind == "logins" else idle())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
