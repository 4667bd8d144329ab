"""`wharf mirror` both ways against OpenSSH's sshd and `wharf serve`: a second run copies nothing,
--dry-run plans without changing anything, --delete removes extras, --checksum sees same-size,
same-mtime changes."""

import os
import shutil

import pytest

from client_fixtures import failed, make_tree, ok, target, tree_digest, tree_mtimes  # noqa: F401
from helpers import write_random

DIRECTIONS = ["upload", "download"]


def _sides(target, tmp_path, direction):
    """(src_arg, dest_arg, src_path, dest_path) for a mirror in `direction`."""
    local = tmp_path / "local"
    remote = target.path("remote")
    if direction == "upload":
        local.mkdir()
        remote.mkdir()
        return str(local), target.url("remote"), local, remote
    local.mkdir()
    remote.mkdir()
    return target.url("remote"), str(local), remote, local


def _plan_lines(p):
    return [l for l in p.stdout.splitlines() if l.strip()]


def _mentions(lines, rel):
    name = os.path.basename(rel)
    return any(rel in l or name in l for l in lines)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_mirror_twice_second_run_copies_nothing(target, tmp_path, direction):
    src_arg, dest_arg, src, dest = _sides(target, tmp_path, direction)
    make_tree(src, files=150, seed=f"mirror-{direction}")
    write_random(src / "dir one" / "large.bin", 2 * 1024 * 1024 + 3)
    want = tree_digest(src)
    files = [rel for rel, v in want.items() if v[0] == "f"]

    # The plan names every file and changes nothing.
    plan = _plan_lines(ok(target.wharf("mirror", "--dry-run", src_arg, dest_arg), "mirror --dry-run"))
    assert len(plan) >= len(files), f"{len(plan)} planned actions for {len(files)} files:\n" + "\n".join(plan[:20])
    missing = [rel for rel in files if not _mentions(plan, rel)]
    assert not missing, f"--dry-run does not name {missing[:5]}"
    assert os.listdir(dest) == [], "--dry-run changed the destination"

    first = ok(target.wharf("mirror", "--parallel", "4", src_arg, dest_arg), "first mirror")
    assert tree_digest(dest) == want

    # Right after: nothing planned, and a real run touches no file.
    plan = _plan_lines(ok(target.wharf("mirror", "--dry-run", src_arg, dest_arg), "second --dry-run"))
    touched = [l for l in plan if any(os.path.basename(rel) in l for rel in files)]
    assert not touched, "second --dry-run plans copies:\n" + "\n".join(touched[:20])
    before = tree_mtimes(dest)
    ok(target.wharf("mirror", src_arg, dest_arg), "second mirror")
    after = tree_mtimes(dest)
    changed = [rel for rel in before if before[rel] != after.get(rel)]
    assert not changed, f"the second mirror rewrote {len(changed)} files, e.g. {changed[:5]}"
    assert tree_digest(dest) == want
    # Without a terminal: nothing but errors (the issue: "Without a terminal, or with -q, nothing but errors").
    assert first.stdout == "" and first.stderr == "", \
        f"mirror printed without a terminal:\nstdout={first.stdout!r}\nstderr={first.stderr!r}"


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_mirror_delete(target, tmp_path, direction):
    src_arg, dest_arg, src, dest = _sides(target, tmp_path, direction)
    make_tree(src, files=40, seed=f"del-{direction}")
    ok(target.wharf("mirror", src_arg, dest_arg), "first mirror")
    assert tree_digest(dest) == tree_digest(src)

    # Change the source: one file modified (new size), one removed, one added.
    changed = src / "dir one" / "file 0001 ß.txt"
    changed.write_bytes(b"changed content, another size\n")
    removed = src / "zero"
    removed.unlink()
    (src / "added ü.txt").write_bytes(b"added\n")
    # Extras on the destination.
    (dest / "extra file.txt").write_bytes(b"extra")
    (dest / "extra dir" / "nested").mkdir(parents=True)
    (dest / "extra dir" / "nested" / "x.bin").write_bytes(b"x")

    # Without --delete: changes copied, extras and the removed file stay.
    ok(target.wharf("mirror", src_arg, dest_arg), "mirror without --delete")
    assert (dest / "dir one" / "file 0001 ß.txt").read_bytes() == changed.read_bytes()
    assert (dest / "added ü.txt").read_bytes() == b"added\n"
    assert (dest / "extra file.txt").exists() and (dest / "extra dir" / "nested" / "x.bin").exists()
    assert (dest / "zero").exists()

    # --delete --dry-run: plans the deletions, changes nothing.
    before = tree_digest(dest)
    plan = _plan_lines(ok(target.wharf("mirror", "--delete", "--dry-run", src_arg, dest_arg),
                          "mirror --delete --dry-run"))
    for name in ["extra file.txt", "extra dir", "zero"]:
        assert any(name in l for l in plan), f"--delete --dry-run does not plan removing {name!r}:\n" + "\n".join(plan)
    assert tree_digest(dest) == before, "--dry-run changed the destination"

    ok(target.wharf("mirror", "--delete", src_arg, dest_arg), "mirror --delete")
    assert tree_digest(dest) == tree_digest(src)
    plan = _plan_lines(ok(target.wharf("mirror", "--delete", "--dry-run", src_arg, dest_arg)))
    assert plan == [], "after mirror --delete, another --dry-run still plans:\n" + "\n".join(plan)


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_mirror_checksum(target, tmp_path, direction):
    src_arg, dest_arg, src, dest = _sides(target, tmp_path, direction)
    (src / "same.bin").write_bytes(b"A" * 5000)
    (src / "sub").mkdir()
    (src / "sub" / "other.txt").write_bytes(b"other")
    ok(target.wharf("mirror", src_arg, dest_arg), "first mirror")
    # Same size, same mtime, different bytes: only --checksum notices.
    (src / "same.bin").write_bytes(b"B" * 5000)
    (dest / "same.bin").write_bytes(b"A" * 5000)
    for p in (src / "same.bin", dest / "same.bin"):
        os.utime(p, (1_650_000_000, 1_650_000_000))
    ok(target.wharf("mirror", src_arg, dest_arg), "mirror by size and mtime")
    assert (dest / "same.bin").read_bytes() == b"A" * 5000, "mirror without --checksum copied a same-size, same-mtime file"
    plan = _plan_lines(ok(target.wharf("mirror", "--checksum", "--dry-run", src_arg, dest_arg)))
    assert any("same.bin" in l for l in plan), "--checksum --dry-run does not plan same.bin:\n" + "\n".join(plan)
    assert not any("other.txt" in l for l in plan), "--checksum plans an identical file:\n" + "\n".join(plan)
    ok(target.wharf("mirror", "--checksum", src_arg, dest_arg), "mirror --checksum")
    assert (dest / "same.bin").read_bytes() == b"B" * 5000
    assert tree_digest(dest) == tree_digest(src)


def test_mirror_missing_source_fails(target, tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    p = failed(target.wharf("mirror", target.url("no-such-dir"), dest), "mirror of a missing remote directory")
    assert "no-such-dir" in p.stderr
    assert os.listdir(dest) == []
    shutil.rmtree(dest)
