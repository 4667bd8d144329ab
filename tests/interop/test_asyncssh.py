"""asyncssh's SFTP client against `wharf serve`: parallel get/put, makedirs, glob, statvfs."""

import asyncio

import asyncssh

from helpers import read_bytes, write_random


def connect(server):
    return asyncssh.connect("127.0.0.1", port=server.port, username=server.user,
                            client_keys=[server.key], known_hosts=None, agent_path=None)


def test_parallel_get_put_makedirs_glob_statvfs(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    srcs = {}
    for i in range(6):
        srcs[f"f{i}.bin"] = write_random(tmp_path / f"f{i}.bin", 500_000 + i * 77_777)

    async def main():
        async with connect(wharf_server) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.makedirs(f"{remote}/a/b/c")
                await sftp.makedirs(f"{remote}/a/b/c", exist_ok=True)
                assert await sftp.isdir(f"{remote}/a/b/c")
                # Parallel uploads on one session, each itself with parallel requests.
                await asyncio.gather(*[
                    sftp.put(str(tmp_path / n), f"{remote}/a/b/c/{n}", block_size=16384, max_requests=32)
                    for n in srcs])
                # One multi-file put, then parallel downloads.
                (tmp_path / "down").mkdir()
                await asyncio.gather(*[
                    sftp.get(f"{remote}/a/b/c/{n}", str(tmp_path / "down" / n), max_requests=64)
                    for n in srcs])
                names = sorted(await sftp.glob(f"{remote}/a/*/c/f[0-2].bin"))
                assert names == [f"{remote}/a/b/c/f{i}.bin" for i in range(3)]
                assert sorted(await sftp.glob(f"{remote}/a/b/c/*.bin")) == \
                    sorted(f"{remote}/a/b/c/{n}" for n in srcs)
                vfs = await sftp.statvfs(remote)
                assert vfs.bsize > 0 and vfs.blocks > 0 and vfs.bfree <= vfs.blocks and vfs.namemax > 0
                async with sftp.open(f"{remote}/a/b/c/f0.bin") as f:
                    fvfs = await f.statvfs()
                    assert fvfs.blocks == vfs.blocks
                await sftp.mget(f"{remote}/a/b/c/f[3-5].bin", str(tmp_path / "down"))
                await sftp.mput([str(tmp_path / "f0.bin"), str(tmp_path / "f1.bin")], f"{remote}/a")

    asyncio.run(asyncio.wait_for(main(), 300))
    for n, data in srcs.items():
        assert read_bytes(local_dir / "a" / "b" / "c" / n) == data
        assert read_bytes(tmp_path / "down" / n) == data
    assert read_bytes(local_dir / "a" / "f0.bin") == srcs["f0.bin"]
    assert read_bytes(local_dir / "a" / "f1.bin") == srcs["f1.bin"]


def test_parallel_sessions(wharf_server, workdir, tmp_path):
    remote, local_dir = workdir
    data = write_random(tmp_path / "p.bin", 1_000_000)

    async def one(i):
        async with connect(wharf_server) as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.put(str(tmp_path / "p.bin"), f"{remote}/p{i}.bin")
                await sftp.get(f"{remote}/p{i}.bin", str(tmp_path / f"p{i}.back"))

    async def main():
        await asyncio.gather(*[one(i) for i in range(4)])

    asyncio.run(asyncio.wait_for(main(), 300))
    for i in range(4):
        assert read_bytes(local_dir / f"p{i}.bin") == data
        assert read_bytes(tmp_path / f"p{i}.back") == data
