"""Resume of downloads and uploads against OpenSSH's sshd and `wharf serve`: from a truncated
partial, and after the server side cut the connection mid-transfer (rerun with --resume, and the
client's own --retries)."""

import os
import time

from client_fixtures import MiB, ok, own_target, target  # noqa: F401
from helpers import sha256_file, write_random

CUT_SIZE = 100 * MiB
CUT_AFTER = 4 * MiB


# --------------------------------------------------------------------------
# from a truncated partial
# --------------------------------------------------------------------------
def test_resume_download_from_half_part(target, tmp_path):
    size = 3 * MiB + 7
    data = write_random(target.path("r.bin"), size)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "r.bin.wharf-part").write_bytes(data[: size // 2])
    ok(target.wharf("get", "--resume", target.url("r.bin"), dest), "get --resume")
    assert sha256_file(dest / "r.bin") == sha256_file(target.path("r.bin"))
    assert sorted(os.listdir(dest)) == ["r.bin"], os.listdir(dest)


def test_resume_download_to_named_file(target, tmp_path):
    size = MiB + 1
    data = write_random(target.path("n.bin"), size)
    (tmp_path / "local name.bin.wharf-part").write_bytes(data[: size // 2])
    ok(target.wharf("get", "--resume", target.url("n.bin"), tmp_path / "local name.bin"), "get --resume")
    assert (tmp_path / "local name.bin").read_bytes() == data
    assert not (tmp_path / "local name.bin.wharf-part").exists()


def test_resume_download_with_wrong_prefix_never_leaves_wrong_file(target, tmp_path):
    """--resume checks what it continues: a partial whose bytes differ from the remote file must
    not end up under the final name (either fetched again correctly, or a failure)."""
    size = 2 * MiB + 3
    data = write_random(target.path("w.bin"), size)
    dest = tmp_path / "dest"
    dest.mkdir()
    bad = bytearray(data[: size // 2])
    bad[1000] ^= 0xFF
    (dest / "w.bin.wharf-part").write_bytes(bytes(bad))
    p = target.wharf("get", "--resume", target.url("w.bin"), dest)
    if p.returncode == 0:
        assert (dest / "w.bin").read_bytes() == data, "--resume produced a corrupt file and exited 0"
    else:
        assert not (dest / "w.bin").exists() or (dest / "w.bin").read_bytes() == data
        assert "w.bin" in p.stderr


def test_resume_upload_from_half_remote(target, tmp_path):
    size = 3 * MiB + 7
    src = tmp_path / "u.bin"
    data = write_random(src, size)
    target.path("u.bin").write_bytes(data[: size // 2])
    ok(target.wharf("put", "--resume", src, target.url("u.bin")), "put --resume")
    assert sha256_file(target.path("u.bin")) == sha256_file(src)
    assert sorted(os.listdir(target.path())) == ["u.bin"]


def test_resume_upload_with_wrong_prefix_never_reports_success_wrongly(target, tmp_path):
    size = 2 * MiB + 3
    src = tmp_path / "uw.bin"
    data = write_random(src, size)
    bad = bytearray(data[: size // 2])
    bad[77] ^= 0xFF
    target.path("uw.bin").write_bytes(bytes(bad))
    p = target.wharf("put", "--resume", src, target.url("uw.bin"))
    if p.returncode == 0:
        assert target.path("uw.bin").read_bytes() == data, "--resume produced a corrupt upload and exited 0"
    else:
        assert "uw.bin" in p.stderr


def test_resume_is_a_noop_when_complete(target, tmp_path):
    data = write_random(target.path("c.bin"), 100_000)
    dest = tmp_path / "c.bin"
    dest.write_bytes(data)
    ok(target.wharf("get", "--resume", target.url("c.bin"), dest), "get --resume of a complete file")
    assert dest.read_bytes() == data
    src = tmp_path / "c2.bin"
    src.write_bytes(data)
    target.path("c2.bin").write_bytes(data)
    ok(target.wharf("put", "--resume", src, target.url("c2.bin")), "put --resume of a complete file")
    assert target.path("c2.bin").read_bytes() == data


# --------------------------------------------------------------------------
# connection cut from the server side mid-transfer
# --------------------------------------------------------------------------
def _wait_for_bytes(size_of, threshold, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if size_of() >= threshold:
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    return False


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _largest_in(d):
    return max((_size(os.path.join(d, n)) for n in os.listdir(d)), default=0)


def _finish(proc, timeout=180):
    try:
        out, err = proc.communicate(timeout=timeout)
    except Exception:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the client did not finish within {timeout}s after the cut")
    return proc.returncode, out, err


def _cut_download(target, tmp_path, retries):
    data = write_random(target.path("cut.bin"), CUT_SIZE)
    dest = tmp_path / "dest"
    dest.mkdir()
    part, final = dest / "cut.bin.wharf-part", dest / "cut.bin"
    proc = target.popen("get", target.url("cut.bin"), dest, options=["--retries", str(retries)])
    try:
        started = _wait_for_bytes(lambda: _size(part), CUT_AFTER, proc)
        assert started, f"the download did not get going (exit {proc.poll()})"
        target.freeze()
        assert not final.exists(), "the partial download sits under the final name"
        assert part.exists(), "no NAME.wharf-part during the download"
        target.cut()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    rc, out, err = _finish(proc)
    return data, dest, part, final, rc, err


def test_download_cut_by_server_then_resume(own_target, tmp_path):
    data, dest, part, final, rc, err = _cut_download(own_target, tmp_path, retries=0)
    assert rc != 0, "the download survived a cut with --retries 0"
    assert not final.exists(), "an interrupted download was left under the final name"
    assert part.exists(), "the partial was not kept for --resume"
    ok(own_target.wharf("get", "--resume", own_target.url("cut.bin"), dest), "get --resume after the cut")
    assert sha256_file(final) == sha256_file(own_target.path("cut.bin"))
    assert sorted(os.listdir(dest)) == ["cut.bin"]
    # The failure named the file that failed (one line per failed file).
    assert "cut.bin" in err, f"the error does not name the file:\n{err}"


def test_download_cut_by_server_retries_resume(own_target, tmp_path):
    """With --retries the client reconnects by itself and resumes the download."""
    data, dest, part, final, rc, err = _cut_download(own_target, tmp_path, retries=3)
    assert rc == 0, f"--retries 3 did not recover from the cut (exit {rc}):\n{err}"
    assert sha256_file(final) == sha256_file(own_target.path("cut.bin"))
    assert sorted(os.listdir(dest)) == ["cut.bin"]


def _cut_upload(target, tmp_path, retries):
    src = tmp_path / "cutup.bin"
    write_random(src, CUT_SIZE)
    proc = target.popen("put", src, target.url("cutup.bin"), options=["--retries", str(retries)])
    try:
        started = _wait_for_bytes(lambda: _largest_in(target.path()), CUT_AFTER, proc)
        assert started, f"the upload did not get going (exit {proc.poll()})"
        target.freeze()
        target.cut()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    rc, out, err = _finish(proc)
    return src, rc, err


def test_upload_cut_by_server_then_resume(own_target, tmp_path):
    src, rc, err = _cut_upload(own_target, tmp_path, retries=0)
    assert rc != 0, "the upload survived a cut with --retries 0"
    ok(own_target.wharf("put", "--resume", src, own_target.url("cutup.bin")), "put --resume after the cut")
    assert sha256_file(own_target.path("cutup.bin")) == sha256_file(src)
    assert sorted(os.listdir(own_target.path())) == ["cutup.bin"]
    assert "cutup.bin" in err, f"the error does not name the file:\n{err}"


def test_upload_cut_by_server_retries_resume(own_target, tmp_path):
    src, rc, err = _cut_upload(own_target, tmp_path, retries=3)
    assert rc == 0, f"--retries 3 did not recover from the cut (exit {rc}):\n{err}"
    assert sha256_file(own_target.path("cutup.bin")) == sha256_file(src)
    assert sorted(os.listdir(own_target.path())) == ["cutup.bin"]
