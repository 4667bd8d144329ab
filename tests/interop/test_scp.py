"""`scp` (SFTP protocol, OpenSSH 9's default) against `wharf serve`."""

from helpers import SSH_OPTS, read_bytes, run, write_random


def scp(server, *args):
    return run(["scp", *SSH_OPTS, "-i", server.key, "-P", str(server.port), *args], timeout=300)


def test_scp_upload_and_download(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(tmp_path / "file one.bin", 2 * 1024 * 1024 + 99)
    p = scp(wharf_server, str(tmp_path / "file one.bin"), f"{wharf_server.user}@127.0.0.1:{remote}/up.bin")
    assert p.returncode == 0, p.stderr
    assert read_bytes(local_dir / "up.bin") == data
    p = scp(wharf_server, f"{wharf_server.user}@127.0.0.1:{remote}/up.bin", str(tmp_path / "down.bin"))
    assert p.returncode == 0, p.stderr
    assert read_bytes(tmp_path / "down.bin") == data


def test_scp_recursive(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    src = tmp_path / "tree"
    files = {}
    for rel, size in [("a", 1), ("b/c.bin", 300000), ("b/d/e.txt", 0), ("f g/h", 42)]:
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        files[rel] = write_random(p, size)
    p = scp(wharf_server, "-r", str(src), f"{wharf_server.user}@127.0.0.1:{remote}/")
    assert p.returncode == 0, p.stderr
    for rel, data in files.items():
        assert read_bytes(local_dir / "tree" / rel) == data, rel
    p = scp(wharf_server, "-r", f"{wharf_server.user}@127.0.0.1:{remote}/tree", str(tmp_path / "back"))
    assert p.returncode == 0, p.stderr
    for rel, data in files.items():
        assert read_bytes(tmp_path / "back" / rel) == data, rel


def test_scp_missing_remote_file_fails(wharf_server, workdir, tmp_path):
    remote, _ = workdir
    p = scp(wharf_server, f"{wharf_server.user}@127.0.0.1:{remote}/nope", str(tmp_path / "nope"))
    assert p.returncode != 0
    assert not (tmp_path / "nope").exists()
