"""`wharf` client commands against OpenSSH's sshd and `wharf serve`: ls, get, put, rm, mkdir, mv,
ln -s, chmod, stat, df; sizes checked by SHA-256; trees of 1,000 files with spaces and UTF-8."""

import json
import os
import re
import stat
import time

import pytest

from client_fixtures import (MiB, UTF8_NAMES, count_files, failed, make_tree, ok, target,  # noqa: F401
                             tree_digest)
from helpers import null_device, sha256_file, write_random


# --------------------------------------------------------------------------
# get / put of single files
# --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, MiB + 1], ids=["0B", "1B", "1MiB+1"])
def test_put_then_get_sizes(target, tmp_path, size):
    src = tmp_path / "src.bin"
    write_random(src, size)
    want = sha256_file(src)
    ok(target.wharf("put", src, target.url("up.bin")))
    assert os.path.getsize(target.path("up.bin")) == size
    assert sha256_file(target.path("up.bin")) == want
    dest = tmp_path / "back.bin"
    ok(target.wharf("get", target.url("up.bin"), dest))
    assert os.path.getsize(dest) == size
    assert sha256_file(dest) == want
    assert not list(tmp_path.glob("*.wharf-part")), "a .wharf-part was left behind"


@pytest.mark.big
def test_big_file_200mib_put_and_get(target, tmp_path):
    """The big one: 200 MiB each way, checked by SHA-256."""
    size = 200 * MiB
    src = tmp_path / "big.bin"
    write_random(src, size)
    want = sha256_file(src)
    t0 = time.monotonic()
    ok(target.wharf("put", src, target.url("big.bin")))
    t_put = time.monotonic() - t0
    assert os.path.getsize(target.path("big.bin")) == size
    assert sha256_file(target.path("big.bin")) == want
    src.unlink()
    dest = tmp_path / "big.back"
    t0 = time.monotonic()
    ok(target.wharf("get", target.url("big.bin"), dest))
    t_get = time.monotonic() - t0
    assert os.path.getsize(dest) == size
    assert sha256_file(dest) == want
    print(f"{target.kind}: put 200 MiB in {t_put:.1f}s, get in {t_get:.1f}s")


def test_get_to_a_device_writes_to_it(target, tmp_path):
    """`wharf get URL /dev/null` (a speed test, as with curl -o /dev/null): the data goes to the
    device; the device is still one afterwards (no temporary name renamed over it), and --verify
    is refused with one line since a device cannot be read back."""
    target.path("data.bin").write_bytes(os.urandom(MiB + 5))
    device = null_device(tmp_path)
    ok(target.wharf("get", target.url("data.bin"), device))
    assert stat.S_ISCHR(os.stat(device).st_mode), f"{device} is no longer a character device"
    assert not os.path.exists(f"{device}.wharf-part")
    p = failed(target.wharf("get", "--verify", target.url("data.bin"), device))
    assert "cannot be verified" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_get_into_existing_directory_and_cwd(target, tmp_path):
    target.path("hello.txt").write_bytes(b"hello\n")
    dest = tmp_path / "into"
    dest.mkdir()
    ok(target.wharf("get", target.url("hello.txt"), dest))
    assert (dest / "hello.txt").read_bytes() == b"hello\n"
    # No LOCAL: the current directory.
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    ok(target.wharf("get", target.url("hello.txt"), cwd=cwd))
    assert (cwd / "hello.txt").read_bytes() == b"hello\n"
    assert sorted(os.listdir(cwd)) == ["hello.txt"]


def test_absolute_url_path(target, tmp_path):
    """sftp://host//abs/path is absolute; sftp://host/path is relative to the login directory."""
    target.path("abs.txt").write_bytes(b"absolute\n")
    dest = tmp_path / "abs.txt"
    ok(target.wharf("get", target.abs_url("abs.txt"), dest))
    assert dest.read_bytes() == b"absolute\n"
    src = tmp_path / "up.txt"
    src.write_bytes(b"up absolute\n")
    ok(target.wharf("put", src, target.abs_url("up-abs.txt")))
    assert target.path("up-abs.txt").read_bytes() == b"up absolute\n"


def test_put_several_files_into_directory(target, tmp_path):
    names = ["one.txt", "two words.txt", "drei-ü.txt"]
    srcs = []
    for i, n in enumerate(names):
        p = tmp_path / n
        p.write_bytes(f"content {i}\n".encode() * (i + 1))
        srcs.append(p)
    target.path("dest").mkdir()
    ok(target.wharf("put", *srcs, target.url("dest")))
    for p in srcs:
        assert target.path("dest/" + p.name).read_bytes() == p.read_bytes(), p.name


def test_put_get_utf8_and_spaces_in_names(target, tmp_path):
    for i, name in enumerate(UTF8_NAMES):
        src = tmp_path / name
        src.write_bytes(f"{name} {i}\n".encode())
        ok(target.wharf("put", src, target.url(name)))
        assert target.path(name).read_bytes() == src.read_bytes(), name
        back = tmp_path / "back"
        back.mkdir(exist_ok=True)
        ok(target.wharf("get", target.url(name), back / name))
        assert (back / name).read_bytes() == src.read_bytes(), name


def test_get_globs(target, tmp_path):
    for n in ["a1.txt", "a2.txt", "b1.txt", "a1.log", "c 3.txt", "x.dat"]:
        target.path(n).write_bytes(n.encode())
    cases = [("*.txt", {"a1.txt", "a2.txt", "b1.txt", "c 3.txt"}),
             ("a?.txt", {"a1.txt", "a2.txt"}),
             ("[ab]1.*", {"a1.txt", "b1.txt", "a1.log"})]
    for i, (pattern, want) in enumerate(cases):
        dest = tmp_path / f"glob{i}"
        dest.mkdir()
        ok(target.wharf("get", target.url(pattern), dest), f"get {pattern}")
        assert set(os.listdir(dest)) == want, pattern
        for n in want:
            assert (dest / n).read_bytes() == n.encode()


def test_get_missing_file_fails_with_one_line(target, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    p = failed(target.wharf("get", target.url("no such file.txt"), dest), "get of a missing file")
    assert "no such file.txt" in p.stderr, p.stderr
    assert os.listdir(dest) == [], "a missing remote file left something locally"
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one line on stderr:\n{p.stderr}"


def test_put_missing_local_file_fails(target, tmp_path):
    p = failed(target.wharf("put", tmp_path / "absent.bin", target.url("absent.bin")), "put of a missing file")
    assert "absent.bin" in p.stderr
    assert not target.path("absent.bin").exists()


# --------------------------------------------------------------------------
# trees
# --------------------------------------------------------------------------
def test_put_r_and_get_r_tree_of_1000_files(target, tmp_path):
    src = make_tree(tmp_path / "tree", files=1000)
    want = tree_digest(src)
    assert count_files(src) == 1000
    ok(target.wharf("put", "-r", src, target.url()), "put -r")
    assert tree_digest(target.path("tree")) == want
    dest = tmp_path / "down"
    dest.mkdir()
    ok(target.wharf("get", "-r", target.url("tree"), dest), "get -r")
    assert tree_digest(dest / "tree") == want


def test_parallel_and_verify_tree(target, tmp_path):
    src = make_tree(tmp_path / "ptree", files=200, seed="parallel")
    big = src / "dir one" / "bigger.bin"
    write_random(big, 3 * MiB + 5)
    want = tree_digest(src)
    p = ok(target.wharf("put", "-r", "--parallel", "4", "--verify", src, target.url()), "put -r --parallel --verify")
    assert p.stdout == "" and p.stderr == "", f"output without a terminal:\n{p.stdout}\n{p.stderr}"
    assert tree_digest(target.path("ptree")) == want
    dest = tmp_path / "pdown"
    dest.mkdir()
    ok(target.wharf("get", "-r", "--parallel", "4", "--verify", target.url("ptree"), dest),
       "get -r --parallel --verify")
    assert tree_digest(dest / "ptree") == want
    # Single files with --verify.
    one = tmp_path / "one.bin"
    write_random(one, MiB + 1)
    ok(target.wharf("put", "--verify", one, target.url("one.bin")))
    assert sha256_file(target.path("one.bin")) == sha256_file(one)
    ok(target.wharf("get", "--verify", target.url("one.bin"), tmp_path / "one.back"))
    assert sha256_file(tmp_path / "one.back") == sha256_file(one)


def test_put_r_failure_of_one_file_transfers_the_rest(target, tmp_path):
    """Non-zero exit, one line naming the failed file, and the rest of the tree still transferred."""
    src = tmp_path / "ftree"
    (src / "sub").mkdir(parents=True)
    for n in ["a.txt", "blocker", "sub/c.txt", "z.txt"]:
        (src / n).write_bytes(n.encode() * 100)
    # On the server, `ftree/blocker` is a non-empty directory: the file cannot be written there.
    (target.path("ftree/blocker/inside")).mkdir(parents=True)
    (target.path("ftree/blocker/inside/keep")).write_bytes(b"keep")
    p = failed(target.wharf("put", "-r", src, target.url()), "put -r over a blocking directory")
    bad = [l for l in p.stderr.splitlines() if "blocker" in l]
    assert len(bad) == 1, f"expected one line naming the failed file:\n{p.stderr}"
    for n in ["a.txt", "sub/c.txt", "z.txt"]:
        assert target.path("ftree/" + n).read_bytes() == n.encode() * 100, n
    assert target.path("ftree/blocker/inside/keep").read_bytes() == b"keep"


def test_get_r_failure_of_one_file_transfers_the_rest(target, tmp_path):
    (target.path("gtree/sub")).mkdir(parents=True)
    for n in ["a.txt", "blocker", "sub/c.txt", "z.txt"]:
        target.path("gtree/" + n).write_bytes(n.encode() * 100)
    dest = tmp_path / "dest"
    (dest / "gtree" / "blocker" / "inside").mkdir(parents=True)
    (dest / "gtree" / "blocker" / "inside" / "keep").write_bytes(b"keep")
    p = failed(target.wharf("get", "-r", target.url("gtree"), dest), "get -r over a blocking directory")
    bad = [l for l in p.stderr.splitlines() if "blocker" in l]
    assert len(bad) == 1, f"expected one line naming the failed file:\n{p.stderr}"
    for n in ["a.txt", "sub/c.txt", "z.txt"]:
        assert (dest / "gtree" / n).read_bytes() == n.encode() * 100, n
    assert (dest / "gtree" / "blocker" / "inside" / "keep").read_bytes() == b"keep"


# --------------------------------------------------------------------------
# ls
# --------------------------------------------------------------------------
def _ls_fixture(target):
    target.path("d").mkdir()
    target.path("d/plain.txt").write_bytes(b"x" * 1234)
    target.path("d/with space.bin").write_bytes(b"")
    target.path("d/日本語.txt").write_bytes(b"abc")
    target.path("d/.hidden").write_bytes(b"h")
    target.path("d/subdir").mkdir()
    os.chmod(target.path("d/plain.txt"), 0o640)
    os.utime(target.path("d/plain.txt"), (1_600_000_000, 1_600_000_000))
    return {"plain.txt", "with space.bin", "日本語.txt", "subdir"}


def test_ls_names_and_hidden(target):
    visible = _ls_fixture(target)
    p = ok(target.wharf("ls", target.url("d")))
    lines = p.stdout.splitlines()
    assert set(lines) == visible, p.stdout
    assert len(lines) == len(visible), p.stdout
    p = ok(target.wharf("ls", "-a", target.url("d")))
    names = set(p.stdout.splitlines()) - {".", ".."}
    assert names == visible | {".hidden"}, p.stdout


def test_ls_long(target):
    visible = _ls_fixture(target)
    p = ok(target.wharf("ls", "-l", target.url("d")))
    lines = [l for l in p.stdout.splitlines() if l.strip() and not l.startswith("total")]
    assert len(lines) == len(visible), p.stdout
    by_name = {}
    for name in visible:
        match = [l for l in lines if l.endswith(" " + name)]
        assert len(match) == 1, f"{name!r} not in ls -l output:\n{p.stdout}"
        by_name[name] = match[0]
    for line in lines:
        assert re.match(r"^[-dlcbps][-rwxsStT]{9}[+@.]?\s", line), f"not ls -l form: {line!r}"
    assert by_name["plain.txt"].startswith("-rw-r-----"), by_name["plain.txt"]
    assert " 1234 " in by_name["plain.txt"], by_name["plain.txt"]
    assert by_name["subdir"].startswith("d"), by_name["subdir"]


def test_ls_json(target):
    visible = _ls_fixture(target)
    os.symlink("plain.txt", target.path("d/link"))
    visible |= {"link"}
    p = ok(target.wharf("ls", "--json", target.url("d")))
    entries = json.loads(p.stdout)
    assert isinstance(entries, list)
    by_name = {e["name"]: e for e in entries}
    assert set(by_name) == visible, p.stdout
    for e in entries:
        assert set(e) >= {"name", "type", "size", "permissions", "mtime"}, e
        assert e["type"] in ("file", "directory", "symlink", "other"), e
        assert re.fullmatch(r"0[0-7]{3,5}", e["permissions"]) or re.fullmatch(r"[0-7]{4}", e["permissions"]), e
    pl = by_name["plain.txt"]
    assert pl["type"] == "file" and pl["size"] == 1234 and pl["permissions"] == "0640", pl
    assert int(pl["mtime"]) == 1_600_000_000, pl
    assert by_name["subdir"]["type"] == "directory"
    assert by_name["link"]["type"] == "symlink"
    assert by_name["with space.bin"]["size"] == 0
    assert by_name["日本語.txt"]["size"] == 3
    # -a adds the hidden file.
    p = ok(target.wharf("ls", "--json", "-a", target.url("d")))
    names = {e["name"] for e in json.loads(p.stdout)} - {".", ".."}
    assert names == visible | {".hidden"}


def test_ls_missing_directory_fails(target):
    p = failed(target.wharf("ls", target.url("nope")), "ls of a missing directory")
    assert "nope" in p.stderr


# --------------------------------------------------------------------------
# rm, mkdir, mv, ln -s, chmod, stat, df
# --------------------------------------------------------------------------
def test_rm(target):
    target.path("f.txt").write_bytes(b"f")
    target.path("with space ü.txt").write_bytes(b"f")
    ok(target.wharf("rm", target.url("f.txt")))
    assert not target.path("f.txt").exists()
    ok(target.wharf("rm", target.url("with space ü.txt")))
    assert not target.path("with space ü.txt").exists()
    # A missing file: non-zero, named on stderr.
    p = failed(target.wharf("rm", target.url("f.txt")), "rm of a missing file")
    assert "f.txt" in p.stderr


def test_rm_r(target):
    make_tree(target.path("rtree"), files=60, seed="rm")
    # Without -r a directory is refused and kept.
    failed(target.wharf("rm", target.url("rtree")), "rm of a directory without -r")
    assert target.path("rtree").is_dir()
    ok(target.wharf("rm", "-r", target.url("rtree")))
    assert not target.path("rtree").exists()


def test_mkdir(target):
    ok(target.wharf("mkdir", target.url("new dir")))
    assert target.path("new dir").is_dir()
    # Missing parents: refused without -p, created with it.
    failed(target.wharf("mkdir", target.url("x/y/z")), "mkdir without -p")
    assert not target.path("x").exists()
    ok(target.wharf("mkdir", "-p", target.url("x/y/z")))
    assert target.path("x/y/z").is_dir()
    # -p on an existing directory succeeds; without -p it fails.
    ok(target.wharf("mkdir", "-p", target.url("x/y/z")))
    failed(target.wharf("mkdir", target.url("new dir")), "mkdir of an existing directory")


def test_mv(target):
    target.path("old.txt").write_bytes(b"move me")
    target.path("sub").mkdir()
    ok(target.wharf("mv", target.url("old.txt"), f"{target.rel}/sub/new näme.txt"))
    assert not target.path("old.txt").exists()
    assert target.path("sub/new näme.txt").read_bytes() == b"move me"
    # A directory, by an absolute NEWPATH (leading //, as in URLs).
    ok(target.wharf("mv", target.url("sub"), "/" + target.remote_abs("sub2")))
    assert target.path("sub2/new näme.txt").read_bytes() == b"move me"
    assert not target.path("sub").exists()
    failed(target.wharf("mv", target.url("gone.txt"), f"{target.rel}/other.txt"), "mv of a missing file")


def test_ln_s(target):
    target.path("data.txt").write_bytes(b"data")
    ok(target.wharf("ln", "-s", "data.txt", target.url("link.txt")))
    assert target.path("link.txt").is_symlink()
    assert os.readlink(target.path("link.txt")) == "data.txt"
    assert target.path("link.txt").read_bytes() == b"data"
    # Through the link.
    p = ok(target.wharf("ls", "--json", target.url()))
    by_name = {e["name"]: e for e in json.loads(p.stdout)}
    assert by_name["link.txt"]["type"] == "symlink"


def test_chmod(target):
    target.path("m.txt").write_bytes(b"m")
    os.chmod(target.path("m.txt"), 0o644)
    ok(target.wharf("chmod", "600", target.url("m.txt")))
    assert stat.S_IMODE(os.stat(target.path("m.txt")).st_mode) == 0o600
    ok(target.wharf("chmod", "0755", target.url("m.txt")))
    assert stat.S_IMODE(os.stat(target.path("m.txt")).st_mode) == 0o755
    target.path("dd").mkdir()
    ok(target.wharf("chmod", "0750", target.url("dd")))
    assert stat.S_IMODE(os.stat(target.path("dd")).st_mode) == 0o750
    failed(target.wharf("chmod", "0644", target.url("absent")), "chmod of a missing file")


def test_stat(target):
    target.path("s.bin").write_bytes(b"s" * 4321)
    os.chmod(target.path("s.bin"), 0o604)
    os.utime(target.path("s.bin"), (1_500_000_000, 1_500_000_123))
    p = ok(target.wharf("stat", "--json", target.url("s.bin")))
    e = json.loads(p.stdout)
    assert e["type"] == "file" and e["size"] == 4321 and e["permissions"] == "0604", e
    assert int(e["mtime"]) == 1_500_000_123, e
    target.path("sd").mkdir()
    e = json.loads(ok(target.wharf("stat", "--json", target.url("sd"))).stdout)
    assert e["type"] == "directory", e
    p = ok(target.wharf("stat", target.url("s.bin")))
    assert "4321" in p.stdout, p.stdout
    p = failed(target.wharf("stat", target.url("missing.bin")), "stat of a missing file")
    assert "missing.bin" in p.stderr


def test_df(target):
    p = ok(target.wharf("df", target.url()))
    assert p.stdout.strip(), "df printed nothing"
    assert re.search(r"\d", p.stdout), p.stdout
    # The total size shown is that of the filesystem behind the work directory (within 1%).
    vfs = os.statvfs(target.path())
    total = vfs.f_frsize * vfs.f_blocks
    numbers = [int(n) for n in re.findall(r"\b\d{4,}\b", p.stdout)]
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    for num, unit in re.findall(r"(\d+(?:\.\d+)?)\s*([KMGT])i?B?\b", p.stdout):
        numbers.append(int(float(num) * units[unit]))
    candidates = numbers + [n * 1024 for n in numbers]
    assert any(abs(n - total) <= total * 0.01 for n in candidates), \
        f"no total near {total} bytes in df output:\n{p.stdout}"
