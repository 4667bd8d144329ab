"""Every cipher Wharf offers (AES-GCM, and AES-CTR with hmac-sha2-256, both on OpenSSL) against
OpenSSH in both roles, with a key exchange every megabyte, so that GCM's nonces and CTR's counters
are carried across packets and restarted by each new key.

The re-exchanges are also what swift-nio-ssh gets wrong on its own: channel messages written while
one is in progress are refused and lost (see KeyExchangeGate). Real peers re-key mid-transfer too:
asyncssh every GiB, paramiko every 512 MiB, OpenSSH at its RekeyLimit; the asyncssh and paramiko
cases below do it every megabyte."""

import asyncio

import asyncssh
import paramiko
import pytest

from client_fixtures import OPENSSH_SFTP_SERVER, Target, ok
from helpers import assert_ok, read_bytes, sftp_batch, write_random

CIPHERS = ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr"]
SIZE = 5 * 1024 * 1024 + 17


@pytest.mark.parametrize("cipher", CIPHERS)
def test_openssh_client_with_each_cipher_and_rekeying(wharf_server, workdir, tmp_path, cipher):
    remote, local_dir = workdir
    data = write_random(tmp_path / "src.bin", SIZE)
    extra = ["-v", "-c", cipher, "-o", "MACs=hmac-sha2-256", "-o", "RekeyLimit=1M"]
    p = sftp_batch(wharf_server, [f"cd {remote}", "put src.bin up.bin", "get up.bin back.bin"], tmp_path,
                   extra=extra, timeout=90)
    assert_ok(p, "sftp")
    assert f"kex: server->client cipher: {cipher}" in p.stderr, p.stderr
    # One key exchange at login, then one per megabyte each way.
    assert p.stderr.count("SSH2_MSG_NEWKEYS received") >= 8, p.stderr
    assert read_bytes(local_dir / "up.bin") == data
    assert read_bytes(tmp_path / "back.bin") == data


@pytest.mark.parametrize("cipher", CIPHERS)
def test_wharf_client_with_each_cipher_and_rekeying(make_sshd, tmp_path_factory, tmp_path, cipher, wharf_bin):
    server = make_sshd(OPENSSH_SFTP_SERVER,
                       f"Ciphers {cipher}\nMACs hmac-sha2-256\nRekeyLimit 1M\nLogLevel DEBUG1\n")
    target = Target("openssh", server, tmp_path_factory.mktemp("client-cipher"))
    target.make_workdir(f"cipher-{cipher}")
    try:
        src = tmp_path / "src.bin"
        data = write_random(src, SIZE)
        ok(target.wharf("put", "-q", src, target.url("up.bin")), "put")
        ok(target.wharf("get", "-q", target.url("up.bin"), tmp_path / "back.bin"), "get")
        assert read_bytes(target.path("up.bin")) == data
        assert read_bytes(tmp_path / "back.bin") == data
        log = server.log()
        assert f"kex: client->server cipher: {cipher}" in log, log
        assert log.count("SSH2_MSG_NEWKEYS received") >= 8, log
    finally:
        target.remove_workdir()


def test_asyncssh_rekeying_every_megabyte_both_ways(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(tmp_path / "src.bin", SIZE)

    async def main():
        async with asyncssh.connect("127.0.0.1", port=wharf_server.port, username=wharf_server.user,
                                    client_keys=[wharf_server.key], known_hosts=None, agent_path=None,
                                    rekey_bytes=1 << 20) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(tmp_path / "src.bin"), f"{remote}/up.bin", max_requests=64)
                await sftp.get(f"{remote}/up.bin", str(tmp_path / "back.bin"), max_requests=64)

    asyncio.run(asyncio.wait_for(main(), 120))
    assert read_bytes(local_dir / "up.bin") == data
    assert read_bytes(tmp_path / "back.bin") == data


def test_paramiko_rekeying_every_megabyte_both_ways(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(tmp_path / "src.bin", SIZE)
    t = paramiko.Transport(("127.0.0.1", wharf_server.port))
    t.packetizer.REKEY_BYTES = 1 << 20
    t.start_client(timeout=30)
    t.auth_publickey(wharf_server.user, paramiko.Ed25519Key.from_private_key_file(wharf_server.key))
    try:
        sftp = paramiko.SFTPClient.from_transport(t)
        sftp.get_channel().settimeout(60)
        sftp.put(str(tmp_path / "src.bin"), f"{remote}/up.bin")
        sftp.get(f"{remote}/up.bin", str(tmp_path / "back.bin"))
    finally:
        t.close()
    assert read_bytes(local_dir / "up.bin") == data
    assert read_bytes(tmp_path / "back.bin") == data
