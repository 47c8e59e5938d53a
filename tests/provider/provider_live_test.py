#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keyward.so in running processes, on a fresh SoftHSM token made by `keyward init --softhsm`:
8 threads x 500 round trips on one key (each an audit entry pair, counted), fork() then use in the
child, a long-lived process that sees within 5 seconds what `keyward keyring rotate`, `rollback`,
`retire` and `compromise` change, and the errors of a wrong PIN, a missing configuration and a
configuration file that is not there: non-zero exit, one clear error, never a signal.

usage: provider_live_test.py KEYWARD_SO KEYWARD_CLI TMPDIR PROVIDER_CLIENT
"""
import fcntl
import os
import sqlite3
import struct
import subprocess
import sys
import time

from provider_testlib import check, fresh_setup, kek_version, refused, run, summary

DEADLINE = 5.0  # seconds a loaded provider may take to see a change made with the CLI


def shm_lock_holder(path, offset):
    """The pid of a process holding a lock that a write lock on one byte would meet (F_GETLK),
    or None."""
    fd = os.open(path, os.O_RDWR)
    try:
        # struct flock on Linux x86-64: short type, short whence, off_t start, off_t len,
        # pid_t pid, padding.
        query = struct.pack("hhqqixxxx", fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
        kind, _, _, _, pid = struct.unpack("hhqqixxxx", fcntl.fcntl(fd, fcntl.F_GETLK, query))
        return None if kind == fcntl.F_UNLCK else pid
    finally:
        os.close(fd)


class Served:
    """provider_client in serve mode: one process, one provider instance, for its whole life."""

    def __init__(self, client, module_dir, uri, env):
        self.p = subprocess.Popen([client, module_dir, uri, "serve"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, env=env, text=True)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def wrap(self):
        """(version, blob hex) or (None, error line)."""
        answer = self.ask("wrap")
        if answer.startswith("blob "):
            return kek_version(bytes.fromhex(answer[5:])), answer[5:]
        return None, answer

    def unwrap(self, blob_hex):
        return self.ask("unwrap " + blob_hex)

    def until(self, probe, done):
        """Polls probe() until done(result) or DEADLINE; (result, seconds taken)."""
        start = time.monotonic()
        while True:
            result = probe()
            elapsed = time.monotonic() - start
            if done(result) or elapsed > DEADLINE:
                return result, elapsed
            time.sleep(0.05)

    def close(self):
        self.p.stdin.close()
        rc = self.p.wait(timeout=60)
        check(rc == 0, "the serving process exits 0", "exit %d" % rc)


def main():
    module, cli, tmp, client = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    module_dir = os.path.dirname(os.path.abspath(module))
    env = fresh_setup(cli, tmp)
    if env is None:
        return 1
    for ring in ("threads", "live"):
        check(run([cli, "keyring", "create", ring], env).returncode == 0, "keyring create " + ring)

    def audit_count(operation, target):
        out = run([cli, "audit", "list", "--operation", operation], env).stdout.decode()
        return sum(1 for line in out.splitlines() if (" " + target + " ok") in line)

    # Threads: one EVP_PKEY, 8 threads, 500 round trips each; every call is one audit entry.
    r = run([client, module_dir, "keyward:threads", "threads", "8", "500"], env)
    check(r.returncode == 0 and r.stdout == b"threads ok 4000\n",
          "8 threads x 500 wrap+unwrap round trips on one key", (r.stdout + r.stderr).decode())
    check(audit_count("datakey.wrap", "keyring:threads") == 4000 and
          audit_count("datakey.decrypt", "keyring:threads") == 4000,
          "4000 wrap and 4000 decrypt entries in the audit log")

    # fork(): the child opens its own handle on first use.
    r = run([client, module_dir, "keyward:threads", "fork"], env)
    check(r.returncode == 0 and r.stdout == b"fork ok\n", "fork() then use in the child",
          (r.stdout + r.stderr).decode())
    check(audit_count("datakey.wrap", "keyring:threads") == 4022,
          "the parent's 2 and the child's 20 round trips are audited")
    check(run([cli, "audit", "verify"], env).returncode == 0, "the audit log verifies")

    # The child outlives the parent that opened the database: it must not lean on the parent's
    # SQLite locks (fork() does not pass them on), while the CLI uses the database meanwhile.
    go, out = os.path.join(tmp, "orphan.go"), os.path.join(tmp, "orphan.out")
    r = run([client, module_dir, "keyward:threads", "orphan", go, out], env)
    check(r.returncode == 0, "orphan: the parent wraps, forks and exits", r.stderr.decode())
    check(run([cli, "keyring", "rotate", "threads"], env).returncode == 0,
          "the CLI rotates while the orphaned child waits")
    check(run([cli, "audit", "verify"], env).returncode == 0, "and verifies the audit log")
    open(go, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(out) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # the child writes one line, then exits
    result = open(out).read() if os.path.exists(out) else "no result"
    check(result.startswith("orphan ok "),
          "the orphaned child makes 20 round trips after the CLI ran", result)
    # SQLite marks a WAL database in use by a read lock on byte 128 of its -shm file (the DMS
    # byte of docs' WAL format). fork() does not pass locks on: unless the child dropped the
    # connections it inherited and opened its own, nobody holds it once the parent is gone,
    # and the next process to open the database would rebuild the -shm file under the child.
    db = os.path.join(os.path.dirname(env["KEYWARD_CONFIG"]), "keyward.db")
    holder = shm_lock_holder(db + "-shm", 128)
    check(result.startswith("orphan ok ") and holder == int(result.split()[2]),
          "the orphaned child holds SQLite's in-use lock on the -shm file itself",
          "holder: %s" % holder)
    open(go + ".end", "w").close()
    check(audit_count("datakey.wrap", "keyring:threads") == 4043,
          "the orphan's parent (1) and child (20) round trips are audited")
    r = run([cli, "audit", "verify"], env)
    check(r.returncode == 0, "the audit log verifies after the orphan", r.stderr.decode())
    with sqlite3.connect(db) as c:
        integrity = c.execute("PRAGMA integrity_check").fetchone()[0]
    check(integrity == "ok", "PRAGMA integrity_check after the orphan", integrity)

    # A provider loaded once sees what the CLI changes, within DEADLINE seconds.
    served = Served(client, module_dir, "keyward:live", env)
    version, blob1 = served.wrap()
    check(version == 1, "the loaded provider wraps under v1", str(blob1))

    check(run([cli, "keyring", "rotate", "live"], env).returncode == 0, "keyring rotate live")
    (version, blob2), took = served.until(served.wrap, lambda r: r[0] == 2)
    check(version == 2 and took <= DEADLINE,
          "after rotate: wraps under v2 within %.0f s (took %.2f s)" %
          (DEADLINE, took), str(blob2))

    check(run([cli, "keyring", "rollback", "live"], env).returncode == 0, "keyring rollback live")
    (version, _), took = served.until(served.wrap, lambda r: r[0] == 1)
    check(version == 1 and took <= DEADLINE,
          "after rollback: wraps under v1 again within %.0f s (took %.2f s)" %
          (DEADLINE, took))
    answer = served.unwrap(blob2)
    check(answer.startswith("key "), "a v2 blob still unwraps (v2 is decrypt-only)", answer)

    check(run([cli, "keyring", "retire", "live", "--version", "2"], env).returncode == 0,
          "keyring retire live --version 2")
    answer, took = served.until(lambda: served.unwrap(blob2), lambda a: a.startswith("error "))
    check(answer.startswith("error ") and "destroyed" in answer and took <= DEADLINE,
          "after retire: the v2 blob is refused within %.0f s (took %.2f s)" % (DEADLINE, took),
          answer)

    check(run([cli, "keyring", "compromise", "live", "--version", "1"], env).returncode == 0,
          "keyring compromise live --version 1")
    (version, answer), took = served.until(served.wrap, lambda r: r[0] is None)
    check(version is None and "has no active version" in answer and took <= DEADLINE,
          "after compromise: no wrap under v1 within %.0f s (took %.2f s)" % (DEADLINE, took),
          answer)

    # The database put back to say v1 is active (as a restore or an edit would): the token's
    # record of the compromise still rules, in the loaded process too.
    with sqlite3.connect(db) as c:
        c.execute("UPDATE kek_versions SET state='active' WHERE keyring='live' AND version=1")
    time.sleep(DEADLINE)
    version, answer = served.wrap()
    check(version is None and "has no active version" in answer,
          "%.0f s later the loaded provider still refuses v1: the token recorded the compromise"
          % DEADLINE, answer)
    served.close()

    # Errors before the token is reached: one clear error each, exit 1.
    pk = ["openssl", "pkeyutl", "-provider-path", module_dir, "-provider", "default",
          "-provider", "keyward", "-encrypt", "-inkey", "keyward:threads"]
    dek = bytes(range(32))

    wrong = os.path.join(tmp, "wrong-pin.conf")
    with open(env["KEYWARD_CONFIG"]) as f:
        text = f.read()
    with open(wrong, "w") as f:
        f.write("\n".join("pin = env:KW_WRONG_PIN" if l.startswith("pin =") else l
                          for l in text.splitlines()) + "\n")
    os.chmod(wrong, 0o600)
    wrong_env = dict(env, KEYWARD_CONFIG=wrong, KW_WRONG_PIN="000000")
    refused(run(pk, wrong_env, dek), "wrong user PIN", "a wrong PIN: one error naming it")
    no_conf = dict(env)
    no_conf.pop("KEYWARD_CONFIG")
    refused(run(pk, no_conf, dek), "no keyward configuration",
            "no configuration at all: one error saying where to set it")
    missing = dict(env, KEYWARD_CONFIG=os.path.join(tmp, "nowhere.conf"))
    refused(run(pk, missing, dek), "nowhere.conf", "a configuration file that is not there")

    return summary()


if __name__ == "__main__":
    sys.exit(main())
