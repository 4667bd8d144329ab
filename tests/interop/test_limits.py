"""Resource bounds: a connection that never logs in is closed after the login grace time, and
the server goes on serving everyone else."""
import socket
import time

from conftest import paramiko_transport


def _closed_within(sock, seconds, start):
    """Reads until EOF; returns the seconds from `start` to the EOF, or None if still open then."""
    sock.settimeout(0.5)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


def test_silent_and_unauthenticated_connections_are_closed_after_the_grace_time(make_server):
    srv = make_server(extra_args=["--login-grace-time", "1.5"])
    start = time.monotonic()
    silent = socket.create_connection(("127.0.0.1", srv.port))
    # Speaks SSH but never authenticates.
    talker = socket.create_connection(("127.0.0.1", srv.port))
    talker.sendall(b"SSH-2.0-limits-test\r\n")
    took_silent = _closed_within(silent, 10, start)
    took_talker = _closed_within(talker, 10, start)
    assert took_silent is not None and took_silent >= 1.0, f"silent connection: {took_silent}"
    assert took_talker is not None and took_talker >= 1.0, f"unauthenticated connection: {took_talker}"
    assert "login grace time" in srv.log()
    # A client that logs in keeps its connection past the grace time.
    t = paramiko_transport(srv)
    try:
        time.sleep(2.5)
        assert t.is_active()
        sftp = t.open_sftp_client()
        assert sftp.normalize(".") == "/"
        sftp.close()
    finally:
        t.close()


def _is_open_after(sock, seconds):
    """True when the server has not closed `sock` within `seconds` (it sends its banner and waits)."""
    return _closed_within(sock, seconds, time.monotonic()) is None


def test_connections_over_the_limits_are_closed_and_others_still_served(make_server):
    srv = make_server(extra_args=["--max-connections-per-ip", "3", "--max-connections", "5"])
    held = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(3)]
    try:
        assert all(_is_open_after(s, 0.5) for s in held)
        extra = socket.create_connection(("127.0.0.1", srv.port))
        took = _closed_within(extra, 5, time.monotonic())
        assert took is not None, "a 4th connection from one address was not refused"
        assert "too many connections" in srv.log()
        # Freeing a slot lets a real client in.
        held.pop().close()
        time.sleep(0.3)
        t = paramiko_transport(srv)
        try:
            sftp = t.open_sftp_client()
            assert sftp.normalize(".") == "/"
            sftp.close()
        finally:
            t.close()
    finally:
        for s in held:
            s.close()
