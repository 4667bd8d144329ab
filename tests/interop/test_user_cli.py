"""`wharf user ...` end to end: runs the built binary against throwaway data directories.

Every failing case must print exactly one `Error: ...` line on stderr, exit non-zero and leave the
data directory byte-for-byte as it was. The password must never appear in any output.
"""

import base64
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WHARF = os.path.abspath(os.environ.get("WHARF_BIN") or str(REPO / ".build" / "debug" / "wharf"))
PASSWORD = "s3cret Pässword-42"
NEW_PASSWORD = "another-s3cret-99"
RSA_MESSAGE = "RSA keys are not supported; use ssh-ed25519 or ecdsa-sha2-nistp256/384/521"

# Every process output seen, checked for passwords at the end of each test.
_outputs = []


@pytest.fixture(autouse=True)
def _binary_and_secrets():
    if not (os.path.isfile(WHARF) and os.access(WHARF, os.X_OK)):
        pytest.fail(f"wharf binary not found at {WHARF} (build it, or set WHARF_BIN)")
    _outputs.clear()
    yield
    for text in _outputs:
        assert PASSWORD not in text and NEW_PASSWORD not in text, "a password was printed"


def wharf(*args, stdin="", cwd=None, prefix=(), binary=None):
    p = subprocess.run([*prefix, binary or WHARF, "user", *map(str, args)], input=stdin.encode(),
                       capture_output=True, cwd=cwd, timeout=120)
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    _outputs.extend([out, err])
    return p.returncode, out, err


def ok(*args, **kw):
    code, out, err = wharf(*args, **kw)
    assert code == 0, f"wharf user {' '.join(map(str, args))} failed: {err}"
    return out


def fails(*args, expect, **kw):
    """Runs a command that must fail with one `Error:` line containing `expect`."""
    code, out, err = wharf(*args, **kw)
    assert code != 0
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), f"stderr is not one line: {err!r}"
    assert lines[0].startswith("Error: "), lines[0]
    assert expect in lines[0], lines[0]
    return lines[0]


def keygen(path, kind="ed25519"):
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"{Path(path).name}@test", "-f", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return Path(str(path) + ".pub")


def fingerprint(pub):
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def snapshot(root):
    """Every path under `root` with its mode and content hash: equal snapshots mean nothing changed."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            digest = ""
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(path, root)] = (mode(path), digest)
    return state


def db_rows(data):
    with sqlite3.connect(f"file:{data / 'users.sqlite'}?mode=ro", uri=True) as db:
        users = {name: (home, pw) for name, home, pw in db.execute("SELECT name, home, password_hash FROM user")}
        keys = db.execute("SELECT user_name, algorithm, comment FROM authorized_key ORDER BY id").fetchall()
    return users, keys


def scrypt_matches(encoded, password):
    """Checks a stored hash with Python's own scrypt: the format is standard, not private to Wharf."""
    _, algo, params, salt, digest = encoded.split("$")
    p = dict(kv.split("=") for kv in params.split(","))
    unb64 = lambda s: base64.b64decode(s + "=" * (-len(s) % 4))  # noqa: E731
    derived = hashlib.scrypt(password.encode(), salt=unb64(salt), n=2 ** int(p["ln"]), r=int(p["r"]),
                             p=int(p["p"]), dklen=len(unb64(digest)), maxmem=64 << 20)
    return algo == "scrypt" and derived == unb64(digest)


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def keys(tmp_path):
    k = tmp_path / "keys"
    k.mkdir()
    return {
        "ed": keygen(k / "id_ed25519"),
        "ed2": keygen(k / "id_ed25519_2"),
        "ecdsa": keygen(k / "id_ecdsa", "ecdsa"),
        "rsa": keygen(k / "id_rsa", "rsa"),
    }


@pytest.fixture
def alice(data, keys):
    """A store holding alice (password and one ed25519 key)."""
    ok("add", "alice", "--data-dir", data, "--password-stdin", "--authorized-key", keys["ed"], stdin=PASSWORD + "\n")
    return data


# ---- commands that succeed ------------------------------------------------------------------

def test_add_with_password_and_key(data, keys):
    out = ok("add", "alice", "--data-dir", data, "--password-stdin", "--authorized-key", keys["ed"],
             stdin=PASSWORD + "\n")
    home = data.resolve() / "files" / "alice"
    assert out == f"added user alice (home {home})\n"
    assert home.is_dir() and mode(home) == 0o700
    assert mode(data / "users.sqlite") == 0o600
    users, stored_keys = db_rows(data)
    stored_home, stored_hash = users["alice"]
    assert stored_home == str(home)
    assert stored_hash.startswith("$scrypt$ln=14,r=8,p=1$")
    assert scrypt_matches(stored_hash, PASSWORD) and not scrypt_matches(stored_hash, PASSWORD + "x")
    assert stored_keys == [("alice", "ssh-ed25519", "id_ed25519@test")]
    assert PASSWORD.encode() not in (data / "users.sqlite").read_bytes()


def test_password_keeps_spaces_and_drops_crlf(data):
    ok("add", "bob", "--data-dir", data, "--password-stdin", stdin=" " + PASSWORD + " \r\nignored second line\n")
    assert scrypt_matches(db_rows(data)[0]["bob"][1], " " + PASSWORD + " ")


def test_add_keys_from_line_and_files(data, keys, tmp_path):
    authorized = tmp_path / "authorized_keys"
    authorized.write_text(f"# team keys\n\n{keys['ecdsa'].read_text()}\n   \n{keys['ed2'].read_text()}")
    ok("add", "carol", "--data-dir", data, "--authorized-key", keys["ed"].read_text().strip(),
       "--authorized-key", authorized)
    listing = json.loads(ok("list", "--data-dir", data, "--json"))
    assert listing == [{
        "name": "carol", "home": str(data.resolve() / "files" / "carol"), "password": False,
        "keys": [
            {"algorithm": "ssh-ed25519", "fingerprint": fingerprint(keys["ed"]), "comment": "id_ed25519@test"},
            {"algorithm": "ecdsa-sha2-nistp256", "fingerprint": fingerprint(keys["ecdsa"]), "comment": "id_ecdsa@test"},
            {"algorithm": "ssh-ed25519", "fingerprint": fingerprint(keys["ed2"]), "comment": "id_ed25519_2@test"},
        ],
    }]


def test_list(alice, keys):
    ok("add", "bob", "--data-dir", alice, "--authorized-key", keys["ed"], "--authorized-key", keys["ecdsa"])
    ok("add", "carol", "--data-dir", alice, "--password-stdin", stdin=PASSWORD)
    out = ok("list", "--data-dir", alice)
    files = alice.resolve() / "files"
    assert out.splitlines() == [
        f"alice\t{files / 'alice'}\tpassword, 1 key",
        f"bob\t{files / 'bob'}\t2 keys",
        f"carol\t{files / 'carol'}\tpassword",
    ]
    assert "$scrypt$" not in ok("list", "--data-dir", alice, "--json")


def test_list_empty(data):
    assert ok("list", "--data-dir", data) == ""
    assert json.loads(ok("list", "--data-dir", data, "--json")) == []
    assert mode(data / "users.sqlite") == 0o600


def test_custom_relative_home_is_stored_absolute(data, keys, tmp_path):
    ok("add", "dave", "--data-dir", data, "--authorized-key", keys["ed"], "--home", "homes/../homes/dave",
       cwd=tmp_path)
    home = tmp_path.resolve() / "homes" / "dave"
    assert home.is_dir() and mode(home) == 0o700
    assert db_rows(data)[0]["dave"][0] == str(home)


def test_existing_home_is_kept_as_is(data, keys, tmp_path):
    home = tmp_path / "shared"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)
    (home / "file.txt").write_text("hello")
    ok("add", "erin", "--data-dir", data, "--authorized-key", keys["ed"], "--home", home)
    assert mode(home) == 0o755 and (home / "file.txt").read_text() == "hello"


def test_default_data_dir(tmp_path, keys):
    (tmp_path / "wharf-data").mkdir()
    ok("add", "frank", "--authorized-key", keys["ed"], cwd=tmp_path)
    assert "frank\t" in ok("list", cwd=tmp_path)
    assert mode(tmp_path / "wharf-data" / "users.sqlite") == 0o600


def test_remove_keeps_home(alice):
    home = alice / "files" / "alice"
    (home / "keep.txt").write_text("data")
    assert ok("remove", "alice", "--data-dir", alice) == "removed user alice\n"
    assert ok("list", "--data-dir", alice) == ""
    assert (home / "keep.txt").read_text() == "data"
    assert db_rows(alice) == ({}, [])


def test_passwd(alice):
    old_hash = db_rows(alice)[0]["alice"][1]
    assert ok("passwd", "alice", "--data-dir", alice, "--password-stdin", stdin=NEW_PASSWORD + "\n") \
        == "changed password for alice\n"
    new_hash = db_rows(alice)[0]["alice"][1]
    assert new_hash != old_hash
    assert scrypt_matches(new_hash, NEW_PASSWORD) and not scrypt_matches(new_hash, PASSWORD)


def test_update(alice, keys, tmp_path):
    ok("update", "alice", "--data-dir", alice, "--add-key", keys["ecdsa"], "--add-key", keys["ed2"].read_text())
    assert [k[1] for k in db_rows(alice)[1]] == ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-ed25519"]
    # Removal matches the key itself, whatever the comment says.
    line = " ".join(keys["ed"].read_text().split()[:2]) + " some-other-comment"
    assert ok("update", "alice", "--data-dir", alice, "--remove-key", line, "--no-password") == "updated user alice\n"
    users, stored = db_rows(alice)
    assert users["alice"][1] is None
    assert stored == [("alice", "ecdsa-sha2-nistp256", "id_ecdsa@test"), ("alice", "ssh-ed25519", "id_ed25519_2@test")]
    ok("update", "alice", "--data-dir", alice, "--home", tmp_path / "newhome")
    assert db_rows(alice)[0]["alice"][0] == str(tmp_path.resolve() / "newhome")
    assert mode(tmp_path / "newhome") == 0o700
    assert ok("list", "--data-dir", alice) == f"alice\t{tmp_path.resolve() / 'newhome'}\t2 keys\n"


# ---- bad input: one line on stderr, non-zero exit, nothing changed ---------------------------

def unchanged(root, *args, expect, **kw):
    before = snapshot(root)
    line = fails(*args, expect=expect, **kw)
    assert snapshot(root) == before, "a failed command changed the data directory"
    return line


def test_unknown_user(alice, keys):
    unchanged(alice, "remove", "bob", "--data-dir", alice, expect="no such user: bob")
    unchanged(alice, "passwd", "bob", "--data-dir", alice, "--password-stdin", stdin=NEW_PASSWORD + "\n",
              expect="no such user: bob")
    unchanged(alice, "update", "bob", "--data-dir", alice, "--add-key", keys["ed2"], expect="no such user: bob")


def test_duplicate_user(alice, keys):
    unchanged(alice, "add", "alice", "--data-dir", alice, "--authorized-key", keys["ed2"],
              expect="user alice already exists")
    # Names differing only in case would share a home on case-insensitive file systems.
    unchanged(alice, "add", "ALICE", "--data-dir", alice, "--authorized-key", keys["ed2"],
              expect="user ALICE already exists")


@pytest.mark.parametrize("name", ["bad/name", ".hidden", "a b", "x" * 33, "émile"])
def test_invalid_user_name(alice, keys, name):
    unchanged(alice, "add", name, "--data-dir", alice, "--authorized-key", keys["ed2"], expect="invalid user name")


def test_malformed_keys(alice, keys, tmp_path):
    def refused(key, expect):
        return unchanged(alice, "add", "bob", "--data-dir", alice, "--authorized-key", key, expect=expect)

    refused("ssh-ed25519 AAAA", "malformed public key")
    refused("ssh-ed25519 not*base64", "not valid base64")
    refused("hello world", "malformed public key")
    refused(tmp_path / "no-such.pub", "cannot read key file")
    ed_data = keys["ed"].read_text().split()[1]
    refused(f"ecdsa-sha2-nistp256 {ed_data}", "malformed public key")
    refused(f'from="10.0.0.1" {keys["ed"].read_text()}', "options")
    refused(f"ssh-dss {ed_data}", "ssh-dss is not supported")
    bad_file = tmp_path / "authorized_keys"
    bad_file.write_text(keys["ed2"].read_text().strip() + "\n# ok\ngarbage line here\n")
    assert f"{bad_file} line 3: " in refused(bad_file, "malformed public key")
    empty = tmp_path / "empty.pub"
    empty.write_text("# nothing\n\n")
    refused(empty, "no public keys")
    # A private key passed by mistake is refused without its contents being echoed.
    private = tmp_path / "keys" / "id_ed25519"
    line = refused(private, "private key")
    assert "OPENSSH PRIVATE KEY" not in line and private.read_text().splitlines()[1] not in line
    unchanged(alice, "update", "alice", "--data-dir", alice, "--add-key", "ssh-ed25519 AAAA",
              expect="malformed public key")


def test_rsa_refused(alice, keys):
    unchanged(alice, "add", "bob", "--data-dir", alice, "--authorized-key", keys["rsa"], expect=RSA_MESSAGE)
    unchanged(alice, "add", "bob", "--data-dir", alice, "--authorized-key", keys["rsa"].read_text(),
              expect=RSA_MESSAGE)
    # One bad key fails the whole command, even next to good ones and a password.
    unchanged(alice, "add", "bob", "--data-dir", alice, "--password-stdin", "--authorized-key", keys["ed2"],
              "--authorized-key", keys["rsa"], stdin=PASSWORD + "\n", expect=RSA_MESSAGE)
    unchanged(alice, "update", "alice", "--data-dir", alice, "--add-key", keys["rsa"], expect=RSA_MESSAGE)


def test_missing_data_dir(tmp_path, keys):
    missing = tmp_path / "missing"
    fails("add", "bob", "--data-dir", missing, "--authorized-key", keys["ed"], expect="does not exist")
    fails("list", "--data-dir", missing, expect="does not exist")
    fails("remove", "bob", "--data-dir", missing, expect="does not exist")
    assert not missing.exists()
    not_dir = tmp_path / "file"
    not_dir.write_text("")
    fails("list", "--data-dir", not_dir, expect="is not a directory")


def test_unwritable_data_dir(keys):
    """Root ignores directory modes, so as root the command runs as `nobody` via setpriv."""
    prefix = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root: setpriv (util-linux) is needed to run as nobody"
        prefix = (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups")
    base = Path(tempfile.mkdtemp(prefix="wharf-ro-"))  # outside tmp_path, which `nobody` cannot enter
    try:
        data = base / "data"
        data.mkdir()
        ok("add", "alice", "--data-dir", data, "--password-stdin", stdin=PASSWORD + "\n")
        pub = base / "key.pub"
        shutil.copy(keys["ed2"], pub)
        for path in (base, data, data / "files"):
            os.chmod(path, 0o755)
        os.chmod(pub, 0o644)
        os.chmod(data, 0o555)
        # The build folder may sit where `nobody` cannot reach (under /root): run a copy.
        binary = base / "wharf"
        shutil.copy(WHARF, binary)
        os.chmod(binary, 0o755)
        if prefix:
            probe = subprocess.run([*prefix, binary, "--help"], capture_output=True)
            assert probe.returncode == 0, f"cannot run wharf as nobody: {probe.stderr!r}"
        unchanged(data, "add", "bob", "--data-dir", data, "--authorized-key", pub, prefix=prefix,
                  binary=binary, expect="is not writable")
        unchanged(data, "remove", "alice", "--data-dir", data, prefix=prefix, binary=binary,
                  expect="is not writable")
    finally:
        os.chmod(base / "data", 0o755)
        shutil.rmtree(base)


def test_empty_or_missing_password(alice, keys):
    unchanged(alice, "add", "bob", "--data-dir", alice, "--password-stdin", stdin="\n", expect="password is empty")
    unchanged(alice, "add", "bob", "--data-dir", alice, "--password-stdin", "--authorized-key", keys["ed2"],
              stdin="", expect="no password on stdin")
    unchanged(alice, "passwd", "alice", "--data-dir", alice, "--password-stdin", stdin="\n",
              expect="password is empty")
    unchanged(alice, "passwd", "alice", "--data-dir", alice, stdin=NEW_PASSWORD + "\n", expect="--password-stdin")


def test_user_needs_a_way_to_log_in(alice, keys):
    unchanged(alice, "add", "bob", "--data-dir", alice, expect="neither a password nor an authorized key")
    # alice has a password and one key: dropping both would lock her out.
    unchanged(alice, "update", "alice", "--data-dir", alice, "--no-password", "--remove-key", keys["ed"],
              expect="neither a password nor an authorized key")


def test_update_key_mistakes(alice, keys):
    unchanged(alice, "update", "alice", "--data-dir", alice, "--remove-key", keys["ed2"],
              expect=f"user alice has no key {fingerprint(keys['ed2'])}")
    unchanged(alice, "update", "alice", "--data-dir", alice, "--add-key", keys["ed"],
              expect=f"user alice already has key {fingerprint(keys['ed'])}")
    unchanged(alice, "update", "alice", "--data-dir", alice, expect="nothing to update")


def test_home_that_is_a_file(alice, keys, tmp_path):
    home = tmp_path / "a-file"
    home.write_text("")
    unchanged(alice, "add", "bob", "--data-dir", alice, "--authorized-key", keys["ed2"], "--home", home,
              expect="not a directory")
    unchanged(alice, "update", "alice", "--data-dir", alice, "--home", home, expect="not a directory")
