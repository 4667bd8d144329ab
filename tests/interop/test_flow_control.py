"""Replies that wait behind SSH flow control must still reach the client: after its EOF, and
before the server closes the channel (NIOSSH drops data still queued when a channel closes)."""
import hashlib
import os

import paramiko

from conftest import paramiko_transport
from helpers import (FXP_DATA, FXP_READ, RawSFTP, sha256_file, sstr, u32, u64, write_random)

SMALL_WINDOW = 32 * 1024


def test_replies_queued_behind_a_small_window_survive_client_eof(wharf_server):
    size = 4 * 1024 * 1024
    chunk = 64 * 1024
    path = os.path.join(wharf_server.home, "flow-eof.bin")
    write_random(path, size)
    t = paramiko_transport(wharf_server)
    try:
        raw = RawSFTP(t, window_size=SMALL_WINDOW, max_packet_size=SMALL_WINDOW)
        raw.init()
        handle = raw.open("/flow-eof.bin")
        ids = [raw.request(FXP_READ, sstr(handle) + u64(i * chunk) + u32(chunk)) for i in range(size // chunk)]
        # EOF right away: the server has read every request, but a 32 KiB window holds back
        # almost all of its 4 MiB of replies.
        raw.chan.shutdown_write()
        data = bytearray()
        for rid in ids:
            ty, r = raw.reply(rid)
            assert ty == FXP_DATA, f"READ {rid} answered with type {ty}"
            data += r.string()
        assert hashlib.sha256(data).hexdigest() == sha256_file(path)
        # Then the server ends the session by itself, with an exit status, and closes.
        assert raw.chan.recv_exit_status() == 0
        assert raw.chan.recv(1) == b""
    finally:
        t.close()


def test_paramiko_get_through_a_small_window(wharf_server, tmp_path):
    path = os.path.join(wharf_server.home, "flow-get.bin")
    write_random(path, 8 * 1024 * 1024)
    t = paramiko_transport(wharf_server)
    try:
        sftp = paramiko.SFTPClient.from_transport(t, window_size=SMALL_WINDOW, max_packet_size=SMALL_WINDOW)
        local = tmp_path / "got.bin"
        sftp.get("/flow-get.bin", str(local))
        assert sha256_file(local) == sha256_file(path)
        sftp.close()
    finally:
        t.close()
