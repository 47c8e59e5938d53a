# SPDX-License-Identifier: Apache-2.0
"""What the provider tests share: ok/FAIL lines with a failure count, subprocess runs that count
a signal or an exit code of 128 or more as a failure, and the KEK version of a kwk1 blob."""
import os
import shutil
import subprocess

failures = 0


def check(ok, what, detail=""):
    global failures
    if ok:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + ("\n     " + detail.replace("\n", "\n     ") if detail else ""))


def run(args, env=None, stdin=None, text=False):
    r = subprocess.run(args, capture_output=True, env=env, input=stdin, text=text, timeout=600)
    # A signal (negative) or a shell-style 128+N would be a crash, at any point, exit included.
    if not 0 <= r.returncode < 128:
        err = r.stderr if text else r.stderr.decode(errors="replace")
        check(False, "no signal: " + os.path.basename(args[0]) + " " + " ".join(args[1:3]),
              "exit %d\n%s" % (r.returncode, err))
    return r


def refused(r, says, what):
    """r failed as a provider failure must: exit 1, nothing on stdout, `says` on stderr in
    exactly one keyward error, and nothing of SoftHSM's own libcrypto use (DSO, engine)."""
    err = r.stderr.decode()
    keyward_errors = [line for line in err.splitlines() if ":keyward:" in line]
    check(r.returncode == 1 and says in err and r.stdout == b"" and len(keyward_errors) == 1 and
          "DSO" not in err and "engine" not in err, what, err)


def kek_version(blob):
    """The KEK version in a binary kwk1 blob (docs/FORMAT.md: magic and format version, suite,
    keyring name length and name, then the KEK version, 4 bytes big-endian)."""
    name_len = blob[5]
    return int.from_bytes(blob[6 + name_len:10 + name_len], "big")


def fresh_setup(cli, tmp):
    """A new SoftHSM token, PINs, database and config made by `keyward init --softhsm` under an
    emptied tmp; the environment to run with (KEYWARD_CONFIG set, no OpenSSL or PIN variables
    from outside), or None after printing why init failed."""
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ)
    for v in ("OPENSSL_CONF", "OPENSSL_MODULES", "KEYWARD_PIN"):
        env.pop(v, None)
    setup = os.path.join(tmp, "setup")
    r = run([cli, "init", "--softhsm", setup], env)
    if r.returncode != 0:
        print("keyward init failed: " + r.stderr.decode())
        return None
    env["KEYWARD_CONFIG"] = os.path.join(setup, "keyward.conf")
    return env


def summary():
    print("%d failed" % failures)
    return 1 if failures else 0
