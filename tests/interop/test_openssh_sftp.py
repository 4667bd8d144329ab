"""OpenSSH's `sftp` client in batch mode (key auth) against `wharf serve`."""

import os
import stat

import pytest

from helpers import PUT_MAX_BUF, assert_ok, read_bytes, sftp_batch, write_random


def test_pwd_is_root_and_cd_dotdot_stays_in_jail(wharf_server, tmp_path):
    p = sftp_batch(wharf_server, ["pwd", "cd ..", "cd ../..", "pwd"], tmp_path)
    assert_ok(p, "sftp")
    lines = [l for l in p.stdout.splitlines() if l.startswith("Remote working directory")]
    assert lines == ["Remote working directory: /", "Remote working directory: /"], p.stdout


@pytest.mark.parametrize("buf,reqs,size", [
    (None, None, 3 * 1024 * 1024 + 17),
    (1024, 1, 300 * 1024 + 3),
    (32768, 16, 2 * 1024 * 1024 + 5),
    (262144, 64, 8 * 1024 * 1024 + 1),
])
def test_put_get_byte_for_byte(wharf_server, workdir, tmp_path, buf, reqs, size):
    remote, local_dir = workdir
    src = tmp_path / "src.bin"
    data = write_random(src, size)
    # OpenSSH's client refuses to *send* a message over 256 KiB, so a WRITE can carry at most
    # 256 KiB minus its header: uploads use at most -B 261120 (the client's own limit); downloads
    # use the size asked for, and the server may answer shorter reads.
    put_extra = (["-B", str(min(buf, PUT_MAX_BUF))] if buf else []) + (["-R", str(reqs)] if reqs else [])
    get_extra = (["-B", str(buf)] if buf else []) + (["-R", str(reqs)] if reqs else [])
    p = sftp_batch(wharf_server, [f"cd {remote}", "put src.bin up.bin"], tmp_path, extra=put_extra)
    assert_ok(p, "sftp put")
    p = sftp_batch(wharf_server, [f"cd {remote}", "get up.bin back.bin"], tmp_path, extra=get_extra)
    assert_ok(p, "sftp get")
    assert read_bytes(local_dir / "up.bin") == data
    assert read_bytes(tmp_path / "back.bin") == data


def test_put_get_empty_file(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (tmp_path / "empty").write_bytes(b"")
    # put -f asks for fsync@openssh.com after the upload.
    p = sftp_batch(wharf_server, [f"cd {remote}", "put -f empty", "get empty empty.back"], tmp_path)
    assert_ok(p)
    assert (local_dir / "empty").read_bytes() == b""
    assert (tmp_path / "empty.back").read_bytes() == b""


def test_put_get_preserve_times_and_mode(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    src = tmp_path / "keep.txt"
    src.write_bytes(b"preserve me\n")
    os.chmod(src, 0o640)
    os.utime(src, (1_500_000_000, 1_600_000_000))
    p = sftp_batch(wharf_server, [f"cd {remote}", "put -p keep.txt", "get -p keep.txt keep.back"], tmp_path)
    assert_ok(p)
    st = os.stat(local_dir / "keep.txt")
    assert int(st.st_mtime) == 1_600_000_000
    assert stat.S_IMODE(st.st_mode) == 0o640
    st2 = os.stat(tmp_path / "keep.back")
    assert int(st2.st_mtime) == 1_600_000_000
    assert stat.S_IMODE(st2.st_mode) == 0o640


def _make_tree(root):
    files = {}
    for rel, size in [("a.txt", 10), ("sub/b.bin", 70000), ("sub/deeper/c.bin", 1), ("sub/deeper/d e.txt", 333),
                      ("other/f", 0)]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        files[rel] = write_random(p, size)
    (root / "emptydir").mkdir()
    return files


def _assert_tree(root, files):
    for rel, data in files.items():
        assert read_bytes(root / rel) == data, rel
    assert (root / "emptydir").is_dir()


def test_recursive_put_and_get(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    files = _make_tree(tmp_path / "tree")
    p = sftp_batch(wharf_server, [f"cd {remote}", "put -r tree", "get -r tree tree.back"], tmp_path)
    assert_ok(p)
    _assert_tree(local_dir / "tree", files)
    _assert_tree(tmp_path / "tree.back", files)


def test_reput_and_reget_resume(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    full = write_random(tmp_path / "full.bin", 1_000_003)
    # Remote has only the first part: reput sends the rest.
    (local_dir / "full.bin").write_bytes(full[:400_000])
    # Local has only the first part of another remote file: reget fetches the rest.
    other = write_random(local_dir / "other.bin", 777_777)
    (tmp_path / "other.bin").write_bytes(other[:123_456])
    # put -a / get -a are the same as reput / reget.
    (local_dir / "third.bin").write_bytes(full[:10])
    p = sftp_batch(wharf_server, [f"cd {remote}", "reput full.bin", "reget other.bin", "put -a full.bin third.bin"],
                   tmp_path)
    assert_ok(p)
    assert read_bytes(local_dir / "full.bin") == full
    assert read_bytes(tmp_path / "other.bin") == other
    assert read_bytes(local_dir / "third.bin") == full


SPECIAL = ["a b.txt", "it's here.txt", 'say "hi".txt', "br[ack]et.txt", "star*name.txt"]


def test_ls_and_globbing_of_special_names(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    for i, name in enumerate(SPECIAL):
        (local_dir / name).write_bytes(f"content {i}\n".encode())
    (local_dir / "plain.dat").write_bytes(b"plain")
    (local_dir / "dir one").mkdir()
    os.chmod(local_dir / "plain.dat", 0o640)
    p = sftp_batch(wharf_server, [
        f"cd {remote}",
        "ls -1",
        "ls -1 *.txt",
        "ls -l plain.dat",
        "ls -1 a?b.txt",
        r'ls -1 br\[ack\]et.txt',
        "ls -1 *here*",
        "get \"a b.txt\" got1",
        "get \"it's here.txt\" got2",
        "get 'say \"hi\".txt' got3",
        r'get br\[ack\]et.txt got4',
        r'get star\*name.txt got5',
        "get \"dir one\"/../plain.dat got6",
    ], tmp_path)
    assert_ok(p)
    out = p.stdout
    for name in SPECIAL + ["plain.dat", "dir one"]:
        assert name in out, f"{name!r} missing from listing:\n{out}"
    # The "ls -1 *.txt" section lists the .txt files, not plain.dat.
    section = out.split("ls -1 *.txt", 1)[1].split("sftp> ls -l plain.dat", 1)[0]
    for name in SPECIAL:
        assert name in section
    assert "plain.dat" not in section
    long_line = [l for l in out.splitlines() if l.rstrip().endswith("plain.dat") and l.startswith("-")]
    assert long_line and long_line[0].startswith("-rw-r-----"), out
    glob_q = out.split("ls -1 a?b.txt", 1)[1].split("sftp>", 1)[0]
    assert "a b.txt" in glob_q and "plain.dat" not in glob_q
    glob_br = out.split(r"ls -1 br\[ack\]et.txt", 1)[1].split("sftp>", 1)[0]
    assert "br[ack]et.txt" in glob_br
    glob_here = out.split("ls -1 *here*", 1)[1].split("sftp>", 1)[0]
    assert "it's here.txt" in glob_here and "a b.txt" not in glob_here
    for i, got in enumerate(["got1", "got2", "got3", "got4", "got5"]):
        assert (tmp_path / got).read_bytes() == f"content {i}\n".encode()
    assert (tmp_path / "got6").read_bytes() == b"plain"


def test_ls_long_sizes_and_sorting(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (local_dir / "small").write_bytes(b"x" * 10)
    (local_dir / "big").write_bytes(b"x" * 123457)
    (local_dir / ".hidden").write_bytes(b"h")
    p = sftp_batch(wharf_server, [f"cd {remote}", "ls -l", "ls -1S", "ls -1a"], tmp_path)
    assert_ok(p)
    out = p.stdout
    big = [l for l in out.splitlines() if l.endswith(" big")]
    assert big and "123457" in big[0].split(), out
    sizes = out.split("ls -1S", 1)[1].split("sftp>", 1)[0].split()
    assert sizes.index("big") < sizes.index("small")
    assert ".hidden" not in out.split("ls -1a", 1)[0]
    assert ".hidden" in out.split("ls -1a", 1)[1]


def test_rename(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (local_dir / "old name").write_bytes(b"rename me")
    (local_dir / "d1").mkdir()
    p = sftp_batch(wharf_server, [f"cd {remote}", 'rename "old name" new', "rename d1 d2", "rename new d2/inner"],
                   tmp_path)
    assert_ok(p)
    assert not (local_dir / "old name").exists()
    assert not (local_dir / "d1").exists()
    assert (local_dir / "d2" / "inner").read_bytes() == b"rename me"


def test_ln_and_ln_s(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (local_dir / "target").write_bytes(b"link target\n")
    p = sftp_batch(wharf_server, [f"cd {remote}", "ln target hard", "ln -s target soft", "ls -l",
                                  "get soft soft.local", "get hard hard.local"], tmp_path)
    assert_ok(p)
    st_t = os.stat(local_dir / "target")
    st_h = os.lstat(local_dir / "hard")
    assert (st_h.st_ino, st_h.st_dev) == (st_t.st_ino, st_t.st_dev), "ln must create a hard link"
    assert st_t.st_nlink == 2
    assert os.path.islink(local_dir / "soft")
    assert os.path.samefile(local_dir / "soft", local_dir / "target")
    longl = [l for l in p.stdout.splitlines() if l.rstrip().endswith("soft") and not l.startswith("sftp>")]
    assert longl and longl[0].startswith("l"), p.stdout  # the directory listing's longname is lstat-based
    assert (tmp_path / "soft.local").read_bytes() == b"link target\n"
    assert (tmp_path / "hard.local").read_bytes() == b"link target\n"


def test_chmod_and_chgrp(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    f = local_dir / "perm.txt"
    f.write_bytes(b"p")
    os.chmod(f, 0o644)
    (local_dir / "pdir").mkdir()
    gid = os.stat(f).st_gid
    os.symlink("perm.txt", local_dir / "plink")
    # chgrp -h uses lsetstat@openssh.com on the link itself.
    p = sftp_batch(wharf_server, [f"cd {remote}", "chmod 600 perm.txt", "chmod 750 pdir", f"chgrp {gid} perm.txt",
                                  f"chgrp -h {gid} plink", "ls -l perm.txt"], tmp_path)
    assert_ok(p)
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(local_dir / "pdir").st_mode) == 0o750
    assert os.stat(f).st_gid == gid
    assert any(l.startswith("-rw-------") for l in p.stdout.splitlines()), p.stdout


def test_mkdir_rmdir_rm(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (local_dir / "gone.txt").write_bytes(b"bye")
    (local_dir / "full").mkdir()
    (local_dir / "full" / "x").write_bytes(b"x")
    p = sftp_batch(wharf_server, [f"cd {remote}", "mkdir newdir", "mkdir newdir/child", "rmdir newdir/child",
                                  "mkdir gone", "rmdir gone", "rm gone.txt", "-rmdir full", "-mkdir full"],
                   tmp_path)
    assert_ok(p)
    assert (local_dir / "newdir").is_dir()
    assert not (local_dir / "newdir" / "child").exists()
    assert not (local_dir / "gone").exists()
    assert not (local_dir / "gone.txt").exists()
    assert (local_dir / "full" / "x").exists(), "rmdir of a non-empty directory must fail"


def test_df(wharf_server, workdir, tmp_path):
    remote, _ = workdir
    p = sftp_batch(wharf_server, [f"cd {remote}", "df", "df -h", "df -i"], tmp_path)
    assert_ok(p)
    assert "Avail" in p.stdout and "Size" in p.stdout, p.stdout
    assert "Inodes" in p.stdout, p.stdout
    # The first df line after the header has numbers.
    lines = p.stdout.split("sftp> df\n", 1)[1].splitlines()
    nums = lines[1].split()
    assert all(n.isdigit() for n in nums[:3]) and int(nums[0]) > 0, lines


def test_batch_error_stops_and_dash_prefix_ignores(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    (tmp_path / "after1").write_bytes(b"1")
    (tmp_path / "after2").write_bytes(b"2")
    p = sftp_batch(wharf_server, [f"cd {remote}", "get does-not-exist", "put after1"], tmp_path)
    assert p.returncode != 0, "a failing command in batch mode must give a non-zero exit"
    assert not (local_dir / "after1").exists(), "batch mode must stop at the first failing command"
    p = sftp_batch(wharf_server, [f"cd {remote}", "-get does-not-exist", "-rm nope", "-cd /nowhere",
                                  "put after2"], tmp_path)
    assert_ok(p, "sftp with - prefixed failures")
    assert (local_dir / "after2").read_bytes() == b"2"
    p = sftp_batch(wharf_server, ["cd /this-dir-does-not-exist", "pwd"], tmp_path)
    assert p.returncode != 0


def test_get_of_symlink_to_missing_fails(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    os.symlink("nothing-here", local_dir / "dangling")
    p = sftp_batch(wharf_server, [f"cd {remote}", "ls -l dangling", "get dangling"], tmp_path)
    assert p.returncode != 0
    assert any(l.startswith("l") and l.rstrip().endswith("dangling") for l in p.stdout.splitlines()), p.stdout
    assert not (tmp_path / "dangling").exists()
