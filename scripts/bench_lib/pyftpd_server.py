"""pyftpdlib as a benchmark peer (workload 6), run by scripts/bench as a subprocess:

    python3 pyftpd_server.py --port P --passive-ports LO-HI --home DIR --user U --password-file F \
        --cert CERT --key KEY

One FTPServer (pyftpdlib's default: a single process, asynchronous, one IOLoop) with
TLS_FTPHandler, so that one listener serves plain FTP and explicit TLS (AUTH TLS) alike, as
`wharf serve --ftp-listen` and vsftpd with `ssl_enable=YES` do; TLS neither required for the
login nor for data. DummyAuthorizer (password compared in plain text: no hash work per login).
Logging at WARNING (no line per command or transfer), connection limits high enough for the
300-session tests. Prints `FTP listening on 127.0.0.1:P` once it listens.

With --scrypt-user NAME, a second user NAME with the same password and home, whose password is
checked against an scrypt hash with Wharf's parameters (N=2^14, r=8, p=1, 16-byte salt, 32-byte
key; hashlib.scrypt, in the event loop as pyftpdlib's authorizers run): the login benchmark
uses it to show what hashing would cost pyftpdlib.
"""

import argparse
import hashlib
import hmac
import logging
import os
import signal
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--passive-ports", required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--scrypt-user")
    a = ap.parse_args()
    password = open(a.password_file).read().strip()

    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)

    def scrypt(pw, salt):
        return hashlib.scrypt(pw.encode(), salt=salt, n=1 << 14, r=8, p=1, maxmem=64 << 20, dklen=32)

    salt = os.urandom(16)
    stored = scrypt(password, salt)

    class Authorizer(DummyAuthorizer):
        def validate_authentication(self, username, pw, handler):
            if username == a.scrypt_user:
                if not hmac.compare_digest(scrypt(pw, salt), stored):
                    from pyftpdlib.authorizers import AuthenticationFailed
                    raise AuthenticationFailed("Authentication failed.")
                return
            return super().validate_authentication(username, pw, handler)

    auth = Authorizer()
    auth.add_user(a.user, password, a.home, perm="elradfmwMT")
    if a.scrypt_user:
        auth.add_user(a.scrypt_user, "not-this", a.home, perm="elradfmwMT")
    lo, hi = map(int, a.passive_ports.split("-"))

    class Handler(TLS_FTPHandler):
        authorizer = auth
        dtp_handler = TLS_DTPHandler
        passive_ports = list(range(lo, hi + 1))
        certfile = a.cert
        keyfile = a.key
        tls_control_required = False
        tls_data_required = False
        auth_failed_timeout = 0  # like `wharf serve --login-failure-delay 0` (only failed logins)
        banner = "pyftpdlib ready."

    server = FTPServer(("127.0.0.1", a.port), Handler)
    server.max_cons = 5000
    server.max_cons_per_ip = 5000
    print(f"FTP listening on 127.0.0.1:{server.address[1]}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.serve_forever(timeout=0.5)


if __name__ == "__main__":
    main()
