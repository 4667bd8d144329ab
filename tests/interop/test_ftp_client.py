"""The `wharf` client over ftp://, ftpes:// (AUTH TLS) and ftps:// (implicit TLS) against vsftpd,
pyftpdlib (MLSD, LIST-only, IIS-style LIST) and `wharf serve` (ftp_client_fixtures.py): get/put of
0 B, 1 B, 1 MiB+1 and 100 MiB files by SHA-256, ls/stat (MLSD and LIST parsing), rm/mkdir/mv,
mirror both ways (a second run copies nothing), resume from a partial (fewer bytes sent, per the
server's log), --verify, --active, the temporary upload name and --no-temp, a 1,000-file tree
with UTF-8 names, and the login forms (password in the URL, --password-stdin, anonymous).

    python3 -m pytest tests/interop/test_ftp_client.py tests/interop/test_ftp_client_failures.py

Failure cases (wrong password, TLS refused, untrusted certificates, dropped and stalled data
connections, timeouts) are in test_ftp_client_failures.py."""

import ftplib
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from client_fixtures import UTF8_NAMES, count_files, make_tree, tree_digest, tree_mtimes
from ftp_client_fixtures import (  # noqa: F401  (fixtures: `peer` reaches the servers by name)
    _pyftpdlib_dos, _pyftpdlib_listonly, _pyftpdlib_plain, _pyftpdlib_tls, _vsftpd_explicit, _vsftpd_implicit,
    _wharf_ftp, ftp_client_certs, make_pyftpdlib_peer, peer, silent_server)
from ftp_client_fixtures import (ACTIVE_PEERS, BIG_PEERS, LISTING_PEERS, TREE_PEERS, MiB,
                                 VSFTPD_PASSWORD, WHARF_URL_PASSWORD, WHARF_URL_USER, failed, make_utf8_tree, ok,
                                 part_files, quiet)
from ftp_fixtures import ImplicitFTP_TLS
from helpers import null_device, sha256_file, write_random


def on(*names):
    """Run a test against these peers only."""
    return pytest.mark.parametrize("peer", list(names), indirect=True)


def uploads(transfers):
    return [t for t in transfers if t.verb in ("STOR", "APPE", "STOU")]


def downloads(transfers):
    return [t for t in transfers if t.verb == "RETR"]


def escape_all(text):
    """Every byte %-escaped: the client must decode the URL's user info."""
    return "".join(f"%{b:02X}" for b in text.encode())


# --------------------------------------------------------------------------
# the fixtures themselves, checked with curl and ftplib (no wharf involved)
# --------------------------------------------------------------------------
def _feat(peer):
    if peer.scheme == "ftps":
        c = ImplicitFTP_TLS(timeout=30)
        import ssl
        c.context = ssl.create_default_context(cafile=peer.cafile)
        c.connect(peer.host, peer.port)
    elif peer.scheme == "ftpes":
        import ssl
        c = ftplib.FTP_TLS(context=ssl.create_default_context(cafile=peer.cafile), timeout=30)
        c.connect(peer.host, peer.port)
        c.auth()
    else:
        c = ftplib.FTP(timeout=30)
        c.connect(peer.host, peer.port)
    try:
        return c.sendcmd("FEAT")
    finally:
        c.close()


def _curl(peer, *args, url):
    argv = ["curl", "-sS", "--max-time", "60", "-u", f"{peer.user}:{peer.password}"]
    if peer.kind == "vsftpd":
        # curl closes an upload's TLS 1.3 data connection with the server's session tickets unread:
        # the kernel answers with RST and vsftpd 3.0.3 loses the tail ("426 Failure reading network
        # stream", about 4 uploads in 10). Python's ftplib (close_notify both ways) never does.
        argv += ["--tls-max", "1.2"]
    if peer.scheme == "ftpes":
        argv += ["--ssl-reqd", "--cacert", str(peer.cafile)]
        url = "ftp://" + url.split("://", 1)[1]
    elif peer.scheme == "ftps":
        argv += ["--cacert", str(peer.cafile)]
    p = subprocess.run([*argv, *args, url], capture_output=True, timeout=120)
    assert p.returncode == 0, f"curl {args} {url}: exit {p.returncode}\n{p.stderr.decode(errors='replace')}"
    return p.stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("peer", LISTING_PEERS, indirect=True)
def test_fixture_selfcheck_with_curl_and_ftplib(peer, tmp_path):
    """The server works with curl (certificate checked by --cacert for 127.0.0.1), FEAT says what
    the tests expect of it, and its log records transfers and commands as the tests parse them."""
    feat = _feat(peer)
    assert ("MLST" in feat) == peer.spec.mlsd, f"{peer.name}: FEAT\n{feat}"
    assert ("HASH" in feat) == peer.spec.server_hash, f"{peer.name}: FEAT\n{feat}"
    src = tmp_path / "selfcheck.bin"
    data = write_random(src, 300_001)
    base = f"{peer.scheme}://127.0.0.1:{peer.port}/{peer.rel}"
    mark = peer.log_mark()
    peer.sync_owner()
    _curl(peer, "-T", str(src), url=f"{base}/selfcheck.bin")
    assert peer.path("selfcheck.bin").read_bytes() == data
    out = tmp_path / "back.bin"
    _curl(peer, "-o", str(out), url=f"{base}/selfcheck.bin")
    assert out.read_bytes() == data
    listing = _curl(peer, url=f"{base}/")
    assert "selfcheck.bin" in listing, listing
    xfers = peer.transfers(mark, "selfcheck.bin")
    assert [(t.verb in ("STOR", "APPE"), t.bytes, t.ok) for t in xfers] == [(True, 300_001, True), (False, 300_001, True)], \
        f"{peer.name}: transfers parsed from the log: {xfers}\n{peer.log()[mark:][-3000:]}"
    cmds = peer.commands(mark)
    if peer.kind == "wharf":
        assert cmds is None
    else:
        assert any(c.startswith("STOR ") for c in cmds) and any(c.startswith("RETR ") for c in cmds), cmds
        assert not any(c.startswith("PASS ") and peer.password in c for c in cmds), "the log shows the password"


# --------------------------------------------------------------------------
# get / put
# --------------------------------------------------------------------------
def test_put_get_0b_1b_1mib(peer, tmp_path):
    """0 B, 1 B and 1 MiB+1 up and down, compared by SHA-256; nothing printed without a terminal;
    uploads go to NAME.wharf-part and are renamed; no *.wharf-part remains on either side."""
    for size in (0, 1, MiB + 1):
        name = f"up-{size}.bin"
        src = tmp_path / f"src-{size}.bin"
        write_random(src, size)
        want = sha256_file(src)
        mark = peer.log_mark()
        quiet(peer.wharf("put", src, peer.url(name)), f"put of {size} B")
        assert os.path.getsize(peer.path(name)) == size
        assert sha256_file(peer.path(name)) == want
        ups = uploads(peer.transfers(mark))
        assert ups, f"no upload in the server log:\n{peer.log()[mark:][-2000:]}"
        assert all(t.name == name + ".wharf-part" for t in ups), \
            f"uploads not to the temporary name {name}.wharf-part: {ups}"
        assert sum(t.bytes for t in ups) == size, ups
        cmds = peer.commands(mark)
        if cmds is not None:
            assert any(c.startswith("RNFR ") and c.endswith(name + ".wharf-part") for c in cmds), cmds
            assert any(c.startswith("RNTO ") and c.endswith(name) for c in cmds), cmds
        dest = tmp_path / f"back-{size}.bin"
        mark = peer.log_mark()
        quiet(peer.wharf("get", peer.url(name), dest), f"get of {size} B")
        assert os.path.getsize(dest) == size
        assert sha256_file(dest) == want
        got = [t.bytes for t in downloads(peer.transfers(mark, name))]
        # (an empty file needs no RETR: its size is known from the listing)
        assert got == [size] or (size == 0 and got == []), f"RETRs of {name}: {got}"
    assert not part_files(peer.path()), part_files(peer.path())
    assert not part_files(tmp_path), part_files(tmp_path)


@pytest.mark.big
@on(*BIG_PEERS)
def test_put_get_100mib(peer, tmp_path):
    size = 100 * MiB
    src = tmp_path / "big.bin"
    write_random(src, size)
    want = sha256_file(src)
    t0 = time.monotonic()
    ok(peer.wharf("put", src, peer.url("big.bin")))
    t_put = time.monotonic() - t0
    assert os.path.getsize(peer.path("big.bin")) == size
    assert sha256_file(peer.path("big.bin")) == want
    src.unlink()
    dest = tmp_path / "big.back"
    t0 = time.monotonic()
    ok(peer.wharf("get", peer.url("big.bin"), dest))
    t_get = time.monotonic() - t0
    assert sha256_file(dest) == want
    print(f"{peer.name}: put 100 MiB in {t_put:.1f}s, get in {t_get:.1f}s")


def test_get_into_directory_and_cwd_and_overwrite(peer, tmp_path):
    peer.path("hello.txt").write_bytes(b"hello\n")
    dest = tmp_path / "into"
    dest.mkdir()
    ok(peer.wharf("get", peer.url("hello.txt"), dest))
    assert (dest / "hello.txt").read_bytes() == b"hello\n"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    ok(peer.wharf("get", peer.url("hello.txt"), cwd=cwd))
    assert sorted(os.listdir(cwd)) == ["hello.txt"]
    # An existing local file is replaced; an existing remote file too (RNTO over it).
    peer.path("hello.txt").write_bytes(b"second version, longer\n")
    ok(peer.wharf("get", peer.url("hello.txt"), dest / "hello.txt"))
    assert (dest / "hello.txt").read_bytes() == b"second version, longer\n"
    src = tmp_path / "new.txt"
    src.write_bytes(b"3")
    ok(peer.wharf("put", src, peer.url("hello.txt")))
    assert peer.path("hello.txt").read_bytes() == b"3"
    assert sorted(os.listdir(peer.path())) == ["hello.txt"]


def test_get_to_a_device_writes_to_it(peer, tmp_path):
    """curl -o /dev/null's use: the device receives the data and stays a device."""
    import stat
    peer.path("data.bin").write_bytes(os.urandom(MiB + 5))
    device = null_device(tmp_path)
    ok(peer.wharf("get", peer.url("data.bin"), device))
    assert stat.S_ISCHR(os.stat(device).st_mode), f"{device} is no longer a character device"
    assert not os.path.exists(f"{device}.wharf-part")


def test_absolute_url_path(peer, tmp_path):
    """SCHEME://host//abs/path is absolute; SCHEME://host/path is relative to the login directory
    (on vsftpd, without chroot, the login directory is a real path like /tmp/wharf-vsftpd-…/home)."""
    peer.path("abs.txt").write_bytes(b"absolute\n")
    dest = tmp_path / "abs.txt"
    ok(peer.wharf("get", peer.abs_url("abs.txt"), dest))
    assert dest.read_bytes() == b"absolute\n"
    src = tmp_path / "up.txt"
    src.write_bytes(b"up absolute\n")
    ok(peer.wharf("put", src, peer.abs_url("up-abs.txt")))
    assert peer.path("up-abs.txt").read_bytes() == b"up absolute\n"


def test_put_several_files_and_utf8_names(peer, tmp_path):
    srcs = []
    for i, name in enumerate([*UTF8_NAMES, "données-ü-日本.txt"]):
        p = tmp_path / name
        p.write_bytes(f"{name} {i}\n".encode() * (i + 1))
        srcs.append(p)
    peer.path("dest").mkdir()
    ok(peer.wharf("put", *srcs, peer.url("dest")))
    for p in srcs:
        assert peer.path("dest/" + p.name).read_bytes() == p.read_bytes(), p.name
    back = tmp_path / "back"
    back.mkdir()
    for p in srcs:
        ok(peer.wharf("get", peer.url("dest/" + p.name), back / p.name))
        assert (back / p.name).read_bytes() == p.read_bytes(), p.name


@on("vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-listonly-ftp", "wharf-ftpes")
def test_get_globs(peer, tmp_path):
    for n in ["a1.txt", "a2.txt", "b1.txt", "a1.log", "c 3.txt", "x.dat"]:
        peer.path(n).write_bytes(n.encode())
    cases = [("*.txt", {"a1.txt", "a2.txt", "b1.txt", "c 3.txt"}), ("a?.txt", {"a1.txt", "a2.txt"}),
             ("[ab]1.*", {"a1.txt", "b1.txt", "a1.log"})]
    for i, (pattern, want) in enumerate(cases):
        dest = tmp_path / f"glob{i}"
        dest.mkdir()
        ok(peer.wharf("get", peer.url(pattern), dest), f"get {pattern}")
        assert set(os.listdir(dest)) == want, pattern
        for n in want:
            assert (dest / n).read_bytes() == n.encode()


# --------------------------------------------------------------------------
# temporary names: default vs --no-temp
# --------------------------------------------------------------------------
def test_put_no_temp_writes_under_the_final_name(peer, tmp_path):
    src = tmp_path / "nt.bin"
    data = write_random(src, 200_000)
    mark = peer.log_mark()
    ok(peer.wharf("put", "--no-temp", src, peer.url("nt.bin")))
    assert peer.path("nt.bin").read_bytes() == data
    ups = uploads(peer.transfers(mark))
    assert ups and all(t.name == "nt.bin" for t in ups), f"--no-temp uploaded to {ups}"
    cmds = peer.commands(mark)
    if cmds is not None:
        assert not any(c.startswith("RNFR ") for c in cmds), f"--no-temp renamed: {cmds}"
    # By default: the upload goes through NAME.wharf-part, none is left on the server.
    mark = peer.log_mark()
    ok(peer.wharf("put", src, peer.url("t.bin")))
    assert [t.name for t in uploads(peer.transfers(mark))] == ["t.bin.wharf-part"]
    assert sorted(os.listdir(peer.path())) == ["nt.bin", "t.bin"]


@on("vsftpd-ftpes", "pyftpdlib-ftp", "wharf-ftps")
def test_get_keeps_its_temporary_name_whatever_no_temp_says(peer, tmp_path):
    """--no-temp is about uploads (the issue's RNFR/RNTO); a download always lands in
    LOCAL.wharf-part and is renamed once complete, as over SFTP, so a partial file never sits
    under the final name. A directory in the way of LOCAL.wharf-part is therefore an error."""
    data = write_random(peer.path("g.bin"), 200_000)
    ok(peer.wharf("get", "--no-temp", peer.url("g.bin"), tmp_path / "g.bin"), "get --no-temp")
    assert (tmp_path / "g.bin").read_bytes() == data
    assert sorted(os.listdir(tmp_path)) == ["g.bin"]
    blocker = tmp_path / "h.bin.wharf-part"
    blocker.mkdir()
    write_random(peer.path("h.bin"), 1000)
    r = peer.wharf("get", "--retries", "0", peer.url("h.bin"), tmp_path / "h.bin")
    assert r.returncode != 0 and "h.bin.wharf-part" in r.stderr, r.stderr
    assert not (tmp_path / "h.bin").exists()


# --------------------------------------------------------------------------
# ls / stat
# --------------------------------------------------------------------------
OLD_MTIME = 1_600_000_000            # 2020-09-13 12:26:40 UTC: LIST shows "Sep 13  2020"


def _ls_fixture(peer):
    d = peer.path("d")
    d.mkdir()
    (d / "plain.txt").write_bytes(b"x" * 1234)
    (d / "with space.bin").write_bytes(b"")
    (d / "日本語.txt").write_bytes(b"abc")
    (d / ".hidden").write_bytes(b"h")
    (d / "subdir").mkdir()
    (d / "recent.txt").write_bytes(b"r" * 77)
    os.symlink("plain.txt", d / "link")
    os.chmod(d / "plain.txt", 0o640)
    os.utime(d / "plain.txt", (OLD_MTIME, OLD_MTIME))
    recent = int(time.time()) - 2 * 3600
    os.utime(d / "recent.txt", (recent, recent))
    return {"plain.txt", "with space.bin", "日本語.txt", "subdir", "recent.txt", "link"}, recent


def _check_permissions(got, want, what, required):
    """The real mode where the server shows it; elsewhere the real mode or null (unknown), never a
    made-up one."""
    if required:
        assert got == want, f"{what}: permissions {got!r}, expected {want!r}"
    else:
        assert got in (want, None), f"{what}: permissions {got!r}: neither the real {want!r} nor null (unknown)"


def _check_mode_string(line, want, what, required):
    m = re.match(r"^([-dlcbps?][-rwxsStT?]{9})", line)
    if required:
        assert m and m.group(1) == want, f"{what}: {line!r} does not start with {want}"
    elif m and "?" not in m.group(1):
        assert m.group(1) == want, f"{what}: {line!r} shows a mode the server never sent (real: {want})"


def _check_mtime(peer, got, want, what):
    """Exact where MLSx gives seconds; LIST gives minutes for recent files and days for old ones."""
    assert isinstance(got, (int, float)), f"{what}: mtime {got!r}"
    if peer.spec.mlsd:
        assert int(got) == want, f"{what}: mtime {got} != {want}"
    else:
        slack = 86400 if abs(time.time() - want) > 180 * 86400 else 60
        assert abs(int(got) - want) <= slack, f"{what}: mtime {got} not within {slack}s of {want} (LIST)"


@pytest.mark.parametrize("peer", LISTING_PEERS, indirect=True)
def test_ls_names_and_hidden(peer):
    visible, _ = _ls_fixture(peer)
    p = ok(peer.wharf("ls", peer.url("d")))
    lines = p.stdout.splitlines()
    assert sorted(lines) == sorted(visible), p.stdout
    p = ok(peer.wharf("ls", "-a", peer.url("d")))
    assert set(p.stdout.splitlines()) - {".", ".."} == visible | {".hidden"}, p.stdout


@pytest.mark.parametrize("peer", LISTING_PEERS, indirect=True)
def test_ls_long(peer):
    visible, _ = _ls_fixture(peer)
    p = ok(peer.wharf("ls", "-l", peer.url("d")))
    lines = [l for l in p.stdout.splitlines() if l.strip() and not l.startswith("total")]
    assert len(lines) == len(visible), p.stdout
    by_name = {}
    for name in visible:
        match = [l for l in lines if l.endswith(" " + name) or (" " + name + " -> ") in l]
        assert len(match) == 1, f"{name!r} not in ls -l output:\n{p.stdout}"
        by_name[name] = match[0]
    assert " 1234 " in by_name["plain.txt"], by_name["plain.txt"]
    if peer.spec.permissions:
        for line in lines:
            assert re.match(r"^[-dlcbps][-rwxsStT]{9}[+@.]?\s", line), f"not ls -l form: {line!r}"
        assert by_name["subdir"].startswith("d"), by_name["subdir"]
    _check_mode_string(by_name["plain.txt"], "-rw-r-----", "plain.txt", peer.spec.permissions)
    if peer.spec.symlinks_visible:
        assert by_name["link"].startswith("l"), by_name["link"]


@pytest.mark.parametrize("peer", LISTING_PEERS, indirect=True)
def test_ls_json(peer):
    visible, recent = _ls_fixture(peer)
    p = ok(peer.wharf("ls", "--json", peer.url("d")))
    entries = json.loads(p.stdout)
    assert isinstance(entries, list)
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == visible, p.stdout
    for e in entries:
        assert set(e) >= {"name", "type", "size", "permissions", "mtime"}, e
        assert e["type"] in ("file", "directory", "symlink", "other"), e
    pl = by_name["plain.txt"]
    assert pl["type"] == "file" and pl["size"] == 1234, pl
    _check_mtime(peer, pl["mtime"], OLD_MTIME, "plain.txt")
    _check_mtime(peer, by_name["recent.txt"]["mtime"], recent, "recent.txt")
    _check_permissions(pl["permissions"], "0640", "plain.txt", peer.spec.permissions)
    assert by_name["subdir"]["type"] == "directory", by_name["subdir"]
    if peer.spec.symlinks_visible:
        assert by_name["link"]["type"] == "symlink", by_name["link"]
    else:   # MLSD (here) and DOS listings show what the link points to
        assert by_name["link"]["type"] in ("file", "symlink"), by_name["link"]
    assert by_name["with space.bin"]["size"] == 0
    assert by_name["日本語.txt"]["size"] == 3
    assert by_name["recent.txt"]["size"] == 77
    p = ok(peer.wharf("ls", "--json", "-a", peer.url("d")))
    assert {e["name"] for e in json.loads(p.stdout)} - {".", ".."} == visible | {".hidden"}


@pytest.mark.parametrize("peer", LISTING_PEERS, indirect=True)
def test_stat(peer):
    peer.path("s.bin").write_bytes(b"s" * 4321)
    os.chmod(peer.path("s.bin"), 0o604)
    os.utime(peer.path("s.bin"), (1_500_000_000, 1_500_000_123))
    p = ok(peer.wharf("stat", "--json", peer.url("s.bin")))
    e = json.loads(p.stdout)
    assert e["type"] == "file" and e["size"] == 4321, e
    # MLST gives the mode where the server lists it by default; SIZE/MDTM (LIST servers) cannot.
    _check_permissions(e["permissions"], "0604", "stat s.bin", peer.spec.mlsd and peer.spec.permissions)
    # MLST or MDTM give seconds; from a LIST line alone, the day.
    if peer.spec.mlsd:
        assert int(e["mtime"]) == 1_500_000_123, e
    else:
        assert abs(int(e["mtime"]) - 1_500_000_123) <= 86400, e
    peer.path("sd").mkdir()
    e = json.loads(ok(peer.wharf("stat", "--json", peer.url("sd"))).stdout)
    assert e["type"] == "directory", e
    p = ok(peer.wharf("stat", peer.url("s.bin")))
    assert "4321" in p.stdout, p.stdout
    p = failed(peer.wharf("stat", peer.url("missing.bin")), "stat of a missing file")
    assert "missing.bin" in p.stderr


# --------------------------------------------------------------------------
# rm, mkdir, mv
# --------------------------------------------------------------------------
def test_rm(peer):
    peer.path("f.txt").write_bytes(b"f")
    peer.path("with space ü.txt").write_bytes(b"f")
    ok(peer.wharf("rm", peer.url("f.txt")))
    assert not peer.path("f.txt").exists()
    ok(peer.wharf("rm", peer.url("with space ü.txt")))
    assert not peer.path("with space ü.txt").exists()
    p = failed(peer.wharf("rm", peer.url("f.txt")), "rm of a missing file")
    assert "f.txt" in p.stderr


def test_rm_r(peer):
    make_tree(peer.path("rtree"), files=60, seed="rm")
    (peer.path("rtree") / ".dotfile").write_bytes(b".")
    failed(peer.wharf("rm", peer.url("rtree")), "rm of a directory without -r")
    assert peer.path("rtree").is_dir()
    ok(peer.wharf("rm", "-r", peer.url("rtree")))
    assert not peer.path("rtree").exists()


def test_mkdir(peer):
    ok(peer.wharf("mkdir", peer.url("new dir ü")))
    assert peer.path("new dir ü").is_dir()
    failed(peer.wharf("mkdir", peer.url("x/y/z")), "mkdir without -p")
    assert not peer.path("x").exists()
    ok(peer.wharf("mkdir", "-p", peer.url("x/y/z")))
    assert peer.path("x/y/z").is_dir()
    ok(peer.wharf("mkdir", "-p", peer.url("x/y/z")))
    failed(peer.wharf("mkdir", peer.url("new dir ü")), "mkdir of an existing directory")


def test_mv(peer):
    peer.path("old.txt").write_bytes(b"move me")
    peer.path("sub").mkdir()
    ok(peer.wharf("mv", peer.url("old.txt"), f"{peer.rel}/sub/new näme.txt"))
    assert not peer.path("old.txt").exists()
    assert peer.path("sub/new näme.txt").read_bytes() == b"move me"
    # A directory, by an absolute NEWPATH (leading //, as in URLs).
    ok(peer.wharf("mv", peer.url("sub"), "/" + peer.remote_abs("sub2")))
    assert peer.path("sub2/new näme.txt").read_bytes() == b"move me"
    assert not peer.path("sub").exists()
    failed(peer.wharf("mv", peer.url("gone.txt"), f"{peer.rel}/other.txt"), "mv of a missing file")


# --------------------------------------------------------------------------
# mirror
# --------------------------------------------------------------------------
def _sides(peer, tmp_path, direction):
    local = tmp_path / "local"
    remote = peer.path("remote")
    local.mkdir()
    remote.mkdir()
    if direction == "upload":
        return str(local), peer.url("remote"), local, remote
    return peer.url("remote"), str(local), remote, local


@pytest.mark.parametrize("direction", ["upload", "download"])
def test_mirror_twice_second_run_copies_nothing(peer, tmp_path, direction):
    src_arg, dest_arg, src, dest = _sides(peer, tmp_path, direction)
    make_tree(src, files=40, seed=f"mirror-{direction}")
    write_random(src / "dir one" / "large.bin", MiB + 3)
    want = tree_digest(src)
    first = ok(peer.wharf("mirror", "--parallel", "4", src_arg, dest_arg), "first mirror")
    assert tree_digest(dest) == want
    assert first.stdout == "" and first.stderr == "", f"mirror printed without a terminal:\n{first.stderr}"
    assert not part_files(dest)
    before = tree_mtimes(dest)
    mark = peer.log_mark()
    ok(peer.wharf("mirror", src_arg, dest_arg), "second mirror")
    moved = [t for t in peer.transfers(mark)]
    assert not moved, f"the second mirror transferred files: {moved[:5]}"
    after = tree_mtimes(dest)
    changed = [rel for rel in before if before[rel] != after.get(rel)]
    assert not changed, f"the second mirror rewrote {len(changed)} files, e.g. {changed[:5]}"
    assert tree_digest(dest) == want


@on("vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-listonly-ftp", "wharf-ftpes")
@pytest.mark.parametrize("direction", ["upload", "download"])
def test_mirror_delete_and_changes(peer, tmp_path, direction):
    src_arg, dest_arg, src, dest = _sides(peer, tmp_path, direction)
    make_tree(src, files=30, seed=f"del-{direction}")
    ok(peer.wharf("mirror", src_arg, dest_arg), "first mirror")
    (src / "dir one" / "file 0001 ß.txt").write_bytes(b"changed content, another size\n")
    (src / "zero").unlink()
    (src / "added ü.txt").write_bytes(b"new")
    (dest / "extra.txt").write_bytes(b"only at the destination")
    ok(peer.wharf("mirror", src_arg, dest_arg), "mirror without --delete")
    assert (dest / "extra.txt").exists() and (dest / "zero").exists(), "mirror without --delete deleted"
    assert (dest / "added ü.txt").read_bytes() == b"new"
    ok(peer.wharf("mirror", "--delete", src_arg, dest_arg), "mirror --delete")
    assert tree_digest(dest) == tree_digest(src)


# --------------------------------------------------------------------------
# resume
# --------------------------------------------------------------------------
def test_resume_download_from_part(peer, tmp_path):
    size = 3 * MiB + 7
    data = write_random(peer.path("r.bin"), size)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "r.bin.wharf-part").write_bytes(data[: size // 2])
    mark = peer.log_mark()
    ok(peer.wharf("get", "--resume", peer.url("r.bin"), dest), "get --resume")
    assert sha256_file(dest / "r.bin") == sha256_file(peer.path("r.bin"))
    assert sorted(os.listdir(dest)) == ["r.bin"], os.listdir(dest)
    retrs = downloads(peer.transfers(mark, "r.bin"))
    # The continuation fetches the second half only; where the server has no HASH the client may
    # read the whole file once more to check the kept prefix (--resume: "by size, then verified").
    assert retrs and min(t.bytes for t in retrs) <= size - size // 2, \
        f"--resume did not continue from the partial: RETRs {retrs} (size {size}, half was there)"
    if peer.spec.server_hash:
        assert sum(t.bytes for t in retrs) <= size - size // 2, f"RETRs {retrs} despite HASH"
    cmds = peer.commands(mark)
    if cmds is not None:
        rest = [int(c.split()[1]) for c in cmds if re.match(r"REST \d+$", c)]
        assert rest and max(rest) >= size // 4, f"no REST to the partial's size: {cmds}"


def test_resume_upload_from_remote_part(peer, tmp_path):
    """A partial upload sits under the temporary name; put --resume continues it (REST+STOR or
    APPE) and renames it."""
    size = 3 * MiB + 7
    src = tmp_path / "u.bin"
    data = write_random(src, size)
    peer.path("u.bin.wharf-part").write_bytes(data[: size // 2])
    mark = peer.log_mark()
    ok(peer.wharf("put", "--resume", src, peer.url("u.bin")), "put --resume")
    assert sha256_file(peer.path("u.bin")) == sha256_file(src)
    assert sorted(os.listdir(peer.path())) == ["u.bin"]
    sent = sum(t.bytes for t in uploads(peer.transfers(mark)))
    assert 0 < sent <= size * 3 // 4, f"--resume sent {sent} of {size} bytes (half was there)"
    cmds = peer.commands(mark)
    if cmds is not None:
        assert any(c.startswith("APPE ") or re.match(r"REST [1-9]\d*$", c) for c in cmds), cmds


@on("vsftpd-ftpes", "pyftpdlib-ftp", "wharf-ftp", "wharf-ftps")
def test_resume_upload_no_temp_continues_the_final_name(peer, tmp_path):
    size = 2 * MiB + 1
    src = tmp_path / "n.bin"
    data = write_random(src, size)
    peer.path("n.bin").write_bytes(data[: size // 3])
    mark = peer.log_mark()
    ok(peer.wharf("put", "--resume", "--no-temp", src, peer.url("n.bin")), "put --resume --no-temp")
    assert peer.path("n.bin").read_bytes() == data
    assert sorted(os.listdir(peer.path())) == ["n.bin"]
    sent = sum(t.bytes for t in uploads(peer.transfers(mark)))
    assert 0 < sent < size, f"--resume sent {sent} of {size} bytes"


@on("vsftpd-ftpes", "pyftpdlib-ftp", "wharf-ftpes")
def test_resume_of_a_complete_file_is_a_noop(peer, tmp_path):
    data = write_random(peer.path("c.bin"), 100_000)
    dest = tmp_path / "c.bin"
    (tmp_path / "c.bin.wharf-part").write_bytes(data)
    ok(peer.wharf("get", "--resume", peer.url("c.bin"), dest), "get --resume of a complete part")
    assert dest.read_bytes() == data
    assert not (tmp_path / "c.bin.wharf-part").exists()


# --------------------------------------------------------------------------
# --verify
# --------------------------------------------------------------------------
def test_verify_get_and_put(peer, tmp_path):
    one = tmp_path / "one.bin"
    write_random(one, MiB + 1)
    mark = peer.log_mark()
    quiet(peer.wharf("put", "--verify", one, peer.url("one.bin")), "put --verify")
    assert sha256_file(peer.path("one.bin")) == sha256_file(one)
    # (the read-back may be of the temporary name, before the rename)
    readback = [t for t in downloads(peer.transfers(mark)) if t.name in ("one.bin", "one.bin.wharf-part")]
    if peer.spec.server_hash:
        assert not readback, f"{peer.name} offers HASH, yet --verify read the file back: {readback}"
    else:
        assert readback and readback[-1].bytes == MiB + 1, \
            f"{peer.name} has no HASH/XSHA256/XCRC: --verify must read the file back; transfers {readback}"
    quiet(peer.wharf("get", "--verify", peer.url("one.bin"), tmp_path / "one.back"), "get --verify")
    assert sha256_file(tmp_path / "one.back") == sha256_file(one)


# --------------------------------------------------------------------------
# data connections
# --------------------------------------------------------------------------
@on(*ACTIVE_PEERS)
def test_active_mode(peer, tmp_path):
    src = tmp_path / "act.bin"
    data = write_random(src, 500_001)
    mark = peer.log_mark()
    ok(peer.wharf("put", "--active", src, peer.url("act.bin")), "put --active")
    assert peer.path("act.bin").read_bytes() == data
    ok(peer.wharf("get", "--active", peer.url("act.bin"), tmp_path / "back.bin"), "get --active")
    assert (tmp_path / "back.bin").read_bytes() == data
    p = ok(peer.wharf("ls", "--active", peer.url()), "ls --active")
    assert p.stdout.splitlines() == ["act.bin"], p.stdout
    cmds = peer.commands(mark)
    if cmds is not None:
        verbs = {c.split()[0].upper() for c in cmds if c}
        assert verbs & {"EPRT", "PORT"}, f"--active sent no EPRT/PORT: {cmds}"
        assert not verbs & {"EPSV", "PASV"}, f"--active used passive mode: {cmds}"


@on("vsftpd-ftpes", "pyftpdlib-ftp", "pyftpdlib-ftps")
def test_passive_mode_uses_epsv(peer, tmp_path):
    peer.path("e.txt").write_bytes(b"epsv")
    mark = peer.log_mark()
    ok(peer.wharf("get", peer.url("e.txt"), tmp_path / "e.txt"))
    assert (tmp_path / "e.txt").read_bytes() == b"epsv"
    verbs = [c.split()[0].upper() for c in peer.commands(mark) if c]
    assert "EPSV" in verbs and not {"PASV", "PORT", "EPRT"} & set(verbs), verbs


def test_pasv_fallback_when_epsv_is_unknown(make_pyftpdlib_peer, tmp_path):
    peer = make_pyftpdlib_peer(no_epsv=True)
    src = tmp_path / "p.bin"
    data = write_random(src, 300_000)
    mark = peer.log_mark()
    ok(peer.wharf("put", src, peer.url("p.bin")), "put (EPSV refused)")
    ok(peer.wharf("get", peer.url("p.bin"), tmp_path / "back.bin"), "get (EPSV refused)")
    assert (tmp_path / "back.bin").read_bytes() == data
    assert ok(peer.wharf("ls", peer.url())).stdout.splitlines() == ["p.bin"]
    verbs = [c.split()[0].upper() for c in peer.commands(mark) if c]
    assert verbs.count("PASV") >= 3, verbs


# --------------------------------------------------------------------------
# a tree of 1,000 files with UTF-8 names
# --------------------------------------------------------------------------
@pytest.mark.big
@on(*TREE_PEERS)
def test_put_r_and_get_r_1000_utf8_files(peer, tmp_path):
    src = make_utf8_tree(tmp_path / "arbre ü", files=1000)
    want = tree_digest(src)
    assert count_files(src) == 1000
    t0 = time.monotonic()
    ok(peer.wharf("put", "-r", src, peer.url()), "put -r")
    t_put = time.monotonic() - t0
    assert tree_digest(peer.path("arbre ü")) == want
    assert not part_files(peer.path())
    dest = tmp_path / "down"
    dest.mkdir()
    t0 = time.monotonic()
    ok(peer.wharf("get", "-r", "--verify", peer.url("arbre ü"), dest), "get -r --verify")
    t_get = time.monotonic() - t0
    assert tree_digest(dest / "arbre ü") == want
    assert not part_files(dest)
    print(f"{peer.name}: put -r 1000 files in {t_put:.1f}s, get -r --verify in {t_get:.1f}s")


@on("pyftpdlib-dos-ftp", "pyftpdlib-listonly-ftp")
def test_get_r_from_list_only_servers(peer, tmp_path):
    """get -r walks the tree with LIST alone (`ls -l` and IIS forms)."""
    make_tree(peer.path("t"), files=50, seed="dos")
    want = tree_digest(peer.path("t"))
    dest = tmp_path / "dest"
    dest.mkdir()
    ok(peer.wharf("get", "-r", peer.url("t"), dest), "get -r")
    assert tree_digest(dest / "t") == want


# --------------------------------------------------------------------------
# login: password in the URL, --password-stdin, anonymous; TLS options
# --------------------------------------------------------------------------
@on("vsftpd-ftpes", "pyftpdlib-ftp", "wharf-ftpes")
def test_password_in_url_percent_escaped(peer, tmp_path):
    if peer.kind == "wharf":
        user, password = WHARF_URL_USER, WHARF_URL_PASSWORD
        home = Path(peer.server.data_dir) / "files" / user
        home.mkdir(parents=True, exist_ok=True)
        rel = "url-login"
        (home / rel).mkdir(exist_ok=True)
        where = home / rel
    else:
        user, password = peer.user, peer.password
        rel, where = peer.rel, peer.path()
        if peer.kind == "vsftpd":
            assert password == VSFTPD_PASSWORD
    base = f"{peer.scheme}://{escape_all(user)}:{escape_all(password)}@127.0.0.1:{peer.port}/{rel}"
    src = tmp_path / "u.txt"
    src.write_bytes(b"password in the URL\n")
    ok(peer.wharf("put", src, base + "/u.txt", password=False), "put with user:password@ in the URL")
    assert (where / "u.txt").read_bytes() == b"password in the URL\n"
    ok(peer.wharf("get", base + "/u.txt", tmp_path / "back.txt", password=False))
    assert (tmp_path / "back.txt").read_bytes() == b"password in the URL\n"


@on("vsftpd-ftps", "pyftpdlib-ftpes", "wharf-ftp")
def test_password_stdin(peer, tmp_path):
    peer.path("s.txt").write_bytes(b"stdin")
    ok(peer.wharf("get", "--password-stdin", peer.url("s.txt"), tmp_path / "s.txt", password=False,
                  input=peer.password + "\n"), "--password-stdin")
    assert (tmp_path / "s.txt").read_bytes() == b"stdin"


@on("pyftpdlib-ftp", "wharf-ftp")
def test_anonymous_login_without_user(peer, tmp_path):
    base = f"ftp://127.0.0.1:{peer.port}"
    p = ok(peer.wharf("ls", base + "/", password=False), "anonymous ls")
    assert sorted(p.stdout.splitlines()) == ["pub", "welcome.txt"], p.stdout
    ok(peer.wharf("get", base + "/pub/data.bin", tmp_path / "data.bin", password=False), "anonymous get")
    assert (tmp_path / "data.bin").read_bytes() == bytes(range(256)) * 40


@on("vsftpd-ftpes", "pyftpdlib-ftps", "wharf-ftps")
def test_insecure_skips_verification_and_says_so(peer, tmp_path):
    peer.path("i.txt").write_bytes(b"insecure")
    p = ok(peer.wharf("get", "--insecure", peer.url("i.txt"), tmp_path / "i.txt", ca=False), "--insecure")
    assert (tmp_path / "i.txt").read_bytes() == b"insecure"
    assert "insecure" in p.stderr.lower(), f"--insecure did not warn on stderr:\n{p.stderr}"


@on("vsftpd-ftpes", "pyftpdlib-ftp", "wharf-ftps")
def test_quiet_prints_nothing(peer, tmp_path):
    src = tmp_path / "q.bin"
    write_random(src, 70_000)
    quiet(peer.wharf("put", "-q", src, peer.url("q.bin")), "put -q")
    quiet(peer.wharf("get", "-q", peer.url("q.bin"), tmp_path / "q.back"), "get -q")
    quiet(peer.wharf("mkdir", "-q", peer.url("qd")), "mkdir -q")
    quiet(peer.wharf("mv", "-q", peer.url("q.bin"), f"{peer.rel}/qd/q.bin"), "mv -q")
    quiet(peer.wharf("rm", "-q", "-r", peer.url("qd")), "rm -q -r")
    assert os.listdir(peer.path()) == []
