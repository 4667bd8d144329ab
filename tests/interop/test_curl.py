"""curl's sftp:// (libssh2: aes-ctr + hmac-sha2-256) against `wharf serve`."""

from helpers import read_bytes, run, write_random


def curl(*args):
    return run(["curl", "-sS", "--fail", "-k", "--connect-timeout", "30", *args], timeout=300)


def url(server, path):
    return f"sftp://127.0.0.1:{server.port}{path}"


def test_curl_download_upload_listing_with_password(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(local_dir / "down.bin", 1_234_567)
    creds = f"alice:{wharf_server.password}"
    p = curl("-u", creds, "-o", str(tmp_path / "got.bin"), url(wharf_server, f"{remote}/down.bin"))
    assert p.returncode == 0, p.stderr
    assert read_bytes(tmp_path / "got.bin") == data
    up = write_random(tmp_path / "up.bin", 777_001)
    p = curl("-u", creds, "-T", str(tmp_path / "up.bin"), url(wharf_server, f"{remote}/uploaded.bin"))
    assert p.returncode == 0, p.stderr
    assert read_bytes(local_dir / "uploaded.bin") == up
    p = curl("-u", creds, url(wharf_server, f"{remote}/"))
    assert p.returncode == 0, p.stderr
    listing = p.stdout.decode()
    assert "down.bin" in listing and "uploaded.bin" in listing
    p = curl("-u", creds, "-l", url(wharf_server, f"{remote}/"))
    assert p.returncode == 0, p.stderr
    assert set(p.stdout.decode().split()) >= {"down.bin", "uploaded.bin"}


def test_curl_with_key(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(local_dir / "k.bin", 100_000)
    p = curl("-u", f"{wharf_server.user}:", "--key", wharf_server.key, "--pubkey", wharf_server.key + ".pub",
             "-o", str(tmp_path / "k.bin"), url(wharf_server, f"{remote}/k.bin"))
    assert p.returncode == 0, p.stderr
    assert read_bytes(tmp_path / "k.bin") == data


def test_curl_missing_file_and_bad_password_fail(wharf_server, workdir, tmp_path):
    remote, _ = workdir
    p = curl("-u", f"alice:{wharf_server.password}", "-o", str(tmp_path / "x"), url(wharf_server, f"{remote}/nope"))
    assert p.returncode != 0
    p = curl("-u", "alice:wrong", url(wharf_server, f"{remote}/"))
    assert p.returncode == 67, p.stderr  # CURLE_LOGIN_DENIED
