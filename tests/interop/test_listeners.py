"""Listening: `wharf serve` binds one socket per event loop on each address (SO_REUSEPORT), and a
second server pointed at an address already served fails with "address already in use" instead
of quietly sharing the port and taking half the connections."""

import ftplib
import os
import subprocess

import pytest

from helpers import run


@pytest.fixture
def server(make_server):
    return make_server()


@pytest.mark.parametrize("listener", ["sftp", "ftp"])
def test_a_second_server_on_a_served_port_fails(server, tmp_path, listener):
    taken = server.port if listener == "sftp" else server.ftp_port
    args = {"sftp": "off", "ftp": "off", "ftps": "off"}
    args[listener] = f"127.0.0.1:{taken}"
    (tmp_path / "data").mkdir()
    p = run([server.bin, "serve", "--data-dir", str(tmp_path / "data"), "--sftp-listen", args["sftp"],
             "--ftp-listen", args["ftp"], "--ftps-listen", args["ftps"]], timeout=60)
    err = p.stderr.decode(errors="replace")
    assert p.returncode != 0, err
    assert f"cannot listen on 127.0.0.1:{taken}: address already in use" in err.lower(), err
    # The first server still answers every connection.
    for _ in range(20):
        with ftplib.FTP() as ftp:
            ftp.connect("127.0.0.1", server.ftp_port, timeout=30)
            ftp.login(server.user, server.password)
    assert server.proc.poll() is None


def test_each_address_has_a_listener_per_event_loop(server):
    """As many listening sockets on the port as the server has event loops (NIO's singleton group:
    threads named NIO-SGLTN-1-#N, one per core NIO counts, cgroup limits included)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{server.ftp_port}"], capture_output=True, text=True,
                         check=True).stdout
    listeners = [line for line in out.splitlines() if line.strip()]
    names = []
    for task in os.listdir(f"/proc/{server.pid}/task"):
        with open(f"/proc/{server.pid}/task/{task}/comm") as f:
            names.append(f.read().strip())
    loops = [n for n in names if n.startswith("NIO-SGLTN-1-")]
    assert loops, names
    assert len(listeners) == len(loops), (out, names)
