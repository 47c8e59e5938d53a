#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keyward compliance end to end, each check broken behind keyward's back on a fresh SoftHSM
token and database, with a separate PKCS#11 client (p11_plant), SQLite and chmod:

- a clean install passes (exit 0), writes a report verify-report accepts and an HTML page;
- a principal without the auditor or admin role is refused (exit 5);
- a weak key planted under a keyward: label of a version the database does not know, a public
  object under a KEK's label, a KEK deleted from the token, a token directory made readable by
  others, an audit entry edited, a keyring past its cryptoperiod, a record column edited: each
  fails its check (exit 1), naming the object;
- an edited report fails verify-report (exit 3).

usage: compliance_test.py KEYWARD_CLI P11_PLANT TMPDIR
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

failures = 0


def check(ok, what, detail=""):
    global failures
    if ok:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + ("\n     " + str(detail).replace("\n", "\n     ") if detail else ""))


class Setup:
    """keyward init --softhsm in its own directory, a keyring and one record."""

    def __init__(self, cli, tmp, name):
        self.dir = os.path.join(tmp, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.cli = cli
        self.env = dict(os.environ)
        self.env.pop("KEYWARD_PIN", None)
        r = subprocess.run([cli, "init", "--softhsm", os.path.join(self.dir, "setup")],
                           capture_output=True, env=self.env, text=True)
        if r.returncode != 0:
            raise RuntimeError("keyward init: " + r.stderr)
        self.conf = os.path.join(self.dir, "setup", "keyward.conf")
        self.env["KEYWARD_CONFIG"] = self.conf
        with open(self.conf) as f:
            text = f.read()
        self.module = re.search(r"^module = (.*)$", text, re.M).group(1)
        self.pin_file = re.search(r"^pin = file:(.*)$", text, re.M).group(1)
        self.db = re.search(r"^database = (.*)$", text, re.M).group(1)
        softhsm_conf = re.search(r"^softhsm2_conf = (.*)$", text, re.M).group(1)
        self.env["SOFTHSM2_CONF"] = softhsm_conf
        with open(softhsm_conf) as f:
            self.token_dir = re.search(r"^directories.tokendir = (.*)$", f.read(), re.M).group(1)
        self.run("keyring", "create", "pay")
        self.run("put", "pay/api", "--kind", "api_key", input="s3cret")

    def run(self, *args, input=None):
        return subprocess.run([self.cli] + list(args), capture_output=True, env=self.env,
                              text=True, input=input)

    def compliance(self, *args):
        """exit code, {check id: check} from --json."""
        r = self.run("--json", "compliance", *args)
        try:
            report = json.loads(r.stdout)
        except ValueError:
            return r.returncode, {}, r
        return r.returncode, {c["id"]: c for c in report["checks"]}, r

    def sql(self, statement):
        db = sqlite3.connect(self.db)
        db.execute(statement)
        db.commit()
        db.close()


def expect_failure(setup, check_id, needle, what):
    code, checks, r = setup.compliance()
    c = checks.get(check_id, {})
    named = any(needle in o for o in c.get("objects", []))
    others = [i for i, x in checks.items() if x["status"] == "fail" and i != check_id]
    check(code == 1 and c.get("status") == "fail" and named,
          "%s: %s fails, naming %s" % (what, check_id, needle),
          "exit %d, %s, other failures %s, stderr %s" % (code, c, others, r.stderr))
    return others


def main():
    cli, plant, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)

    # A clean install passes, and its report verifies.
    s = Setup(cli, tmp, "clean")
    report = os.path.join(s.dir, "report.json")
    page = os.path.join(s.dir, "report.html")
    r = s.run("compliance", "--report", report, "--html", page)
    check(r.returncode == 0 and "0 fail" in r.stdout, "a clean install passes (exit 0)",
          r.stdout + r.stderr)
    with open(report) as f:
        text = f.read()
    body = json.loads(text)
    ids = [c["id"] for c in body["checks"]]
    check(len(ids) == 15 and body["summary"]["fail"] == 0 and body["token"]["model"] and
          body["token"]["firmware"] and body["tool_version"],
          "the report holds 15 checks, the token's identity and the tool version", ids)
    check(oct(os.stat(report).st_mode & 0o777) == "0o600", "the report file is mode 0600")
    r = s.run("compliance", "verify-report", report)
    check(r.returncode == 0 and r.stdout.startswith("genuine"), "verify-report: genuine",
          r.stdout + r.stderr)
    with open(page) as f:
        html = f.read()
    check(html.startswith("<!DOCTYPE html>") and html.count("<tr class=") == 15 and
          "<script" not in html and "kek.probes" in html,
          "the HTML page: one self-contained table row per check, no script")
    for tampered, what in ((text.replace('"pass"', '"fail"', 1), "a status changed"),
                           (text.replace("SP 800-57", "SP 800-75", 1), "a clause changed"),
                           (text[:-5] + ("0" if text[-5] != "0" else "1") + text[-4:],
                            "the MAC's last digit changed"),
                           (text.replace('"key_version":1,', '"key_version":01,'),
                            "the key version written as 01"),
                           (text[:len(text) // 2], "truncated")):
        path = os.path.join(s.dir, "tampered.json")
        with open(path, "w") as f:
            f.write(tampered)
        r = s.run("compliance", "verify-report", path)
        check(r.returncode == 3 and "not genuine" in r.stderr and
              len(r.stderr.strip().splitlines()) == 1,
              "verify-report of a report with %s: exit 3, one line" % what, r.stderr)
    r = s.run("--principal", "bystander", "compliance")
    check(r.returncode == 5, "compliance by a principal without a role: exit 5", r.stderr)
    r = s.run("access", "grant", "ext-auditor", "auditor", "--on", "*")
    check(r.returncode == 0, "grant ext-auditor the auditor role", r.stderr)
    r = s.run("--principal", "ext-auditor", "compliance")
    check(r.returncode == 0, "compliance by an auditor: exit 0", r.stderr)
    r = s.run("audit", "list", "--operation", "compliance", "--json")
    entries = json.loads(r.stdout).get("entries", []) if r.returncode == 0 else []
    check(len(entries) >= 3 and any(e.get("outcome") == "denied" for e in entries),
          "every run is audited, the refused one as denied", r.stdout[-400:])

    # A weak key planted under a keyward label, by a separate PKCS#11 client.
    s = Setup(cli, tmp, "planted")
    r = subprocess.run([plant, s.module, "keyward", s.pin_file, "private-weak-key",
                        "keyward:pay:v9"], env=s.env, capture_output=True, text=True)
    check(r.returncode == 0, "planted an AES-128 key labelled keyward:pay:v9", r.stderr)
    r = subprocess.run([plant, s.module, "keyward", s.pin_file, "private-weak-key",
                        "keyward:elsewhere:v1"], env=s.env, capture_output=True, text=True)
    check(r.returncode == 0, "planted a key of a keyring this database does not know", r.stderr)
    others = expect_failure(s, "kek.orphans", "keyward:pay:v9", "a planted weak key")
    check(others == [], "nothing else fails", others)
    _, checks, _ = s.compliance()
    check(any("keyward:elsewhere:v1" in o and "does not know" in o
              for o in checks["kek.orphans"]["objects"]),
          "a keyring this database does not know is listed, not failed")

    # A public object under a KEK's label, made without the PIN.
    s = Setup(cli, tmp, "public")
    r = subprocess.run([plant, s.module, "keyward", "-", "public-object", "keyward:pay:v1"],
                       env=s.env, capture_output=True, text=True)
    check(r.returncode == 0, "planted a public object labelled keyward:pay:v1 without the PIN",
          r.stderr)
    expect_failure(s, "kek.orphans", "keyward:pay:v1: a public", "a public object")

    # A KEK deleted from the token.
    s = Setup(cli, tmp, "deleted")
    s.run("keyring", "create", "gone")
    r = subprocess.run([plant, s.module, "keyward", s.pin_file, "destroy", "keyward:gone:v1"],
                       env=s.env, capture_output=True, text=True)
    check(r.returncode == 0, "destroyed keyward:gone:v1 behind keyward's back", r.stderr)
    expect_failure(s, "kek.attributes", "keyward:gone:v1", "a KEK deleted from the token")

    # The token directory made readable by others.
    s = Setup(cli, tmp, "files")
    os.chmod(s.token_dir, 0o755)
    expect_failure(s, "files.permissions", s.token_dir + ": mode 0755", "a readable token dir")

    # An audit entry edited.
    s = Setup(cli, tmp, "audit")
    s.sql("UPDATE audit_log SET detail = 'nothing happened' WHERE seq = 2")
    expect_failure(s, "audit.chain", "audit log", "an audit entry edited")

    # A keyring past its cryptoperiod (its active version's date set back for the test).
    s = Setup(cli, tmp, "cryptoperiod")
    s.sql("UPDATE kek_versions SET created_at = '2020-01-01T00:00:00Z' WHERE keyring = 'pay'")
    expect_failure(s, "keyring.cryptoperiod", "pay v1", "a keyring past its cryptoperiod")

    # A record column edited.
    s = Setup(cli, tmp, "record")
    s.sql("UPDATE record_versions SET kek_version = 4 WHERE namespace = 'pay'")
    expect_failure(s, "records.kek", "pay/api version 1: header names pay v1, columns say pay v4",
                   "a record column edited")
    code, _, r = s.compliance("--deep")
    check(code == 1 and "every record version opened" in r.stdout,
          "--deep opens every record version", r.stdout[-300:])

    # An expired credential still active, and one past its rotate-after date.
    s = Setup(cli, tmp, "policies")
    s.run("put", "pay/old", "--kind", "api_key", "--rotate-after", "30", input="v1")
    s.sql("UPDATE records SET expires_at = '2020-01-01T00:00:00Z' WHERE name = 'api'")
    s.sql("UPDATE records SET value_since = '2020-01-01T00:00:00Z' WHERE name = 'old'")
    expect_failure(s, "records.policies", "pay/api: expired 2020-01-01T00:00:00Z",
                   "an expired credential still active")
    _, checks, _ = s.compliance()
    check(any(o.startswith("pay/old: rotation was due")
              for o in checks["records.policies"]["objects"]),
          "records.policies also names the credential past its rotate-after date",
          checks["records.policies"])

    # Rollback copies kept past the rollback window: a warning, not a failure.
    s = Setup(cli, tmp, "kept")
    r = s.run("keyring", "rotate", "pay")
    check(r.returncode == 0, "keyring rotate pay (keeps a rollback copy under v1)", r.stderr)
    code, checks, _ = s.compliance()
    check(code == 0 and checks["rotation.kept-copies"]["status"] == "pass",
          "a fresh rotation's copies are inside the window")
    s.sql("UPDATE rotation_jobs SET finished_at = '2020-01-01T00:00:00Z' WHERE keyring = 'pay'")
    code, checks, _ = s.compliance()
    c = checks.get("rotation.kept-copies", {})
    check(code == 0 and c.get("status") == "warn" and
          any(o.startswith("pay v1: 1 copies kept since 2020-01-01") for o in c.get("objects", [])),
          "copies kept past the window: a warning naming the version (exit 0)", c)

    # A KEK the database says destroyed that is back in the token, and labels keyward never
    # makes (one of them hostile to an HTML page).
    s = Setup(cli, tmp, "labels")
    for args in (["keyring", "create", "old"], ["keyring", "rotate", "old"],
                 ["keyring", "retire", "old", "--version", "1"]):
        r = s.run(*args)
        check(r.returncode == 0, "keyward " + " ".join(args), r.stderr)
    hostile = "keyward:pay:v1<img src=x onerror=alert(1)>"
    for label in ("keyward:old:v1", "keyward:pay:v01", hostile):
        r = subprocess.run([plant, s.module, "keyward", s.pin_file, "private-weak-key", label],
                           env=s.env, capture_output=True, text=True)
        check(r.returncode == 0, "planted " + label, r.stderr)
    expect_failure(s, "kek.orphans", "keyward:old:v1: the database says destroyed",
                   "a destroyed version's label back in the token")
    _, checks, _ = s.compliance()
    objects = checks["kek.orphans"]["objects"]
    check(any(o.startswith("keyward:pay:v01: not a label keyward makes") for o in objects),
          "keyward:pay:v01 is not taken for version 1", objects)
    page = os.path.join(s.dir, "r.html")
    s.run("compliance", "--html", page)
    with open(page) as f:
        html = f.read()
    check("&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html,
          "a hostile label is escaped in the HTML page")

    # Broken through SQLite: the states, a job left running, a grant, the GCM counter, the
    # token's ledger.
    s = Setup(cli, tmp, "states")
    s.sql("UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'pay'")
    expect_failure(s, "keyring.states", "pay: 0 active versions", "no active version")
    s = Setup(cli, tmp, "pre-active")
    s.run("keyring", "rotate", "pay")
    s.sql("UPDATE kek_versions SET state = 'pre-active' WHERE keyring = 'pay' AND version = 1")
    expect_failure(s, "keyring.states", "pay v1: pre-active", "a version edited to pre-active")

    s = Setup(cli, tmp, "job")
    s.run("keyring", "rotate", "pay")
    s.sql("UPDATE rotation_jobs SET state = 'running', finished_at = NULL WHERE keyring = 'pay'")
    expect_failure(s, "rotation.finished", "pay: rotate job", "a rotation left unfinished")

    s = Setup(cli, tmp, "grant")
    s.run("access", "grant", "helper", "reader", "--on", "pay")
    s.sql("UPDATE grants SET role = 'admin' WHERE principal = 'helper'")
    expect_failure(s, "access.rows", "MAC does not verify", "a grant edited to admin")

    s = Setup(cli, tmp, "gcm")
    r = s.run("keyring", "create", "g2", "--suite", "2")
    check(r.returncode == 0, "a suite 2 keyring", r.stderr)
    s.sql("UPDATE kek_versions SET wrap_count = 2147483649 WHERE keyring = 'g2'")
    expect_failure(s, "gcm.invocations", "g2 v1: 2147483649 of 2147483648 wraps, past the limit",
                   "a suite 2 counter past the SP 800-38D limit")

    s = Setup(cli, tmp, "ledger")
    s.run("keyring", "create", "led")
    r = s.run("keyring", "compromise", "led", "--version", "1")
    check(r.returncode == 0, "keyring compromise led --version 1", r.stderr)
    s.sql("UPDATE kek_versions SET state = 'active' WHERE keyring = 'led'")
    expect_failure(s, "kek.ledger", "keyward:led:v1: the database says active",
                   "a compromised version edited back to active")

    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
