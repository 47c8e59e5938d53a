#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Scenarios of OpenBao's transit test suite (internal/builtin/logical/transit, MPL-2.0: the
flows, rewritten here as HTTP tests against keywardd, not its code), and keyward's key
policies end to end:

- the version window (TestTransit_ConfigSettings): config rules, encrypt and decrypt inside
  and outside min_encryption_version / min_decryption_version, rewrap, batch;
- trim (TestTransit_Trim): every rule, the versions left, config after a trim;
- batch encryption and decryption (TestTransit_BatchEncryption*, BatchDecryption*);
- rewrap after rotations (TestTransit_Rewrap);
- keyward's own: DELETE with deletion_allowed, rotate answering while the re-wrap of stored
  records goes on, auto_rotate_period acted on, `keyward open` honouring the policy (exit 5),
  the policy living in the token (a database edit changes nothing).

Where keyward differs from Vault on purpose (only the latest version encrypts; keys never
leave the token), the test asserts keyward's answer; docs/SERVICE.md lists the differences.

usage: transit_scenarios_test.py KEYWARDD KEYWARD_CLI TMPDIR
"""
import base64
import json
import sqlite3
import subprocess
import sys
import time

import service_testlib
from service_testlib import Server, b64, check, failed, request, stop_all


def errors_of(payload):
    try:
        return json.loads(payload).get("errors", [])
    except ValueError:
        return []


def main():
    daemon, cli, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    conf, env, keyward = service_testlib.fresh_setup(cli, tmp)
    admin = service_testlib.new_token(keyward, "ops", ("admin", "*"))
    app = service_testlib.new_token(keyward, "app", ("writer", "*"), ("reader", "*"))
    server = Server(daemon, conf, env, ["service_auto_rotate_check_ms = 300"])
    check(server.port is not None, "keywardd starts", server.log_text())
    if server.port is None:
        return 1
    port = server.port

    def call(method, path, body=None, token=admin):
        status, payload = request(port, method, "/v1/transit/" + path, body, token)
        data = None
        if payload:
            try:
                data = json.loads(payload)
            except ValueError:
                pass
        return status, data, payload

    def expect_error(method, path, body, status, words, what, token=admin):
        got, _, payload = call(method, path, body, token)
        errs = errors_of(payload)
        check(got == status and any(words in e for e in errs), what,
              "%d %s" % (got, payload[:300]))

    def encrypt(key, text=b"abcd", **extra):
        body = dict(plaintext=b64(text), **extra)
        return call("POST", "encrypt/" + key, body, app)

    def decrypt(key, ct, **extra):
        return call("POST", "decrypt/" + key, dict(ciphertext=ct, **extra), app)

    def read(key):
        return call("GET", "keys/" + key)[1]["data"]

    # --- TestTransit_ConfigSettings: five versions, a window of 2..5 for decryption and
    # 3..5 for encryption. keyward wraps only under the active version, so each version's
    # ciphertext is made while it is the latest.
    call("POST", "keys/aes256")
    ct = {}
    for v in range(1, 6):
        ct[v] = encrypt("aes256")[1]["data"]["ciphertext"]
        if v < 5:
            call("POST", "keys/aes256/rotate")
    check(read("aes256")["latest_version"] == 5 and
          [c.split(":")[1] for c in (ct[1], ct[5])] == ["v1", "v5"],
          "config: five versions, a ciphertext under each")
    expect_error("POST", "keys/aes256/config", {"min_decryption_version": 7}, 400,
                 "cannot set min decryption version of 7, latest key version is 5",
                 "config: min_decryption_version above the latest: 400")
    expect_error("POST", "keys/aes256/config", {"min_decryption_version": -1}, 400,
                 "min decryption version cannot be negative",
                 "config: negative min_decryption_version: 400")
    expect_error("POST", "keys/aes256/config", {"min_encryption_version": 7}, 400,
                 "cannot set min encryption version of 7, latest key version is 5",
                 "config: min_encryption_version above the latest: 400")
    expect_error("POST", "keys/aes256/config",
                 {"min_decryption_version": 3, "min_encryption_version": 2}, 400,
                 "must be greater than or equal to min decryption version of 3",
                 "config: min encryption below min decryption: 400")
    expect_error("POST", "keys/aes256/config", {"min_decryption_version": "two"}, 400,
                 "must be an integer", "config: a string that is not a number: 400")
    status, data, _ = call("POST", "keys/aes256/config",
                           {"min_decryption_version": 2, "min_encryption_version": "3"})
    check(status == 200 and data["data"]["min_decryption_version"] == 2 and
          data["data"]["min_encryption_version"] == 3,
          "config: min decryption 2, min encryption 3 (a number sent as a string)", data)
    check(read("aes256")["min_decryption_version"] == 2, "config: read_key shows the window")
    status, _, payload = decrypt("aes256", ct[1])
    check(status == 400 and errors_of(payload) ==
          ["ciphertext or signature version is disallowed by policy (too old)"],
          "decrypt under v1 (below the window): 400 in Vault's words", payload)
    opened = [decrypt("aes256", ct[v])[1]["data"]["plaintext"] for v in range(2, 6)]
    check(opened == [b64(b"abcd")] * 4, "decrypt under v2..v5: inside the window")
    expect_error("POST", "encrypt/aes256", {"plaintext": b64(b"x"), "key_version": 2}, 400,
                 "requested version for encryption is less than the minimum encryption key "
                 "version", "encrypt with key_version 2 (below min encryption): 400", app)
    expect_error("POST", "encrypt/aes256", {"plaintext": b64(b"x"), "key_version": 3}, 400,
                 "keywardd encrypts only with the latest version",
                 "encrypt with key_version 3 (in the window, not the latest): 400 (keyward)",
                 app)
    status, data, _ = encrypt("aes256", key_version=5)
    check(status == 200 and data["data"]["ciphertext"].startswith("vault:v5:"),
          "encrypt with key_version 5 (the latest)")
    status, _, payload = call("POST", "rewrap/aes256", {"ciphertext": ct[1]}, app)
    check(status == 400 and "too old" in payload.decode(), "rewrap from v1: 400 (too old)")
    status, data, _ = call("POST", "rewrap/aes256", {"ciphertext": ct[2]}, app)
    check(status == 200 and data["data"]["ciphertext"].startswith("vault:v5:"),
          "rewrap from v2 gives v5")
    status, data, _ = call("POST", "decrypt/aes256",
                           {"batch_input": [{"ciphertext": ct[1], "reference": "old"},
                                            {"ciphertext": ct[3], "reference": "ok"}]}, app)
    results = (data or {}).get("data", {}).get("batch_results", [])
    check(status == 400 and len(results) == 2 and "too old" in results[0].get("error", "") and
          results[1].get("plaintext") == b64(b"abcd") and results[1]["reference"] == "ok",
          "batch decrypt: the old item fails alone", data)

    # The CLI honours the same policy, read from the token.
    r = keyward("open", input=ct[1] + "\n")
    check(r.returncode == 5 and "min_decryption_version" in r.stderr and r.stdout == "" and
          len(r.stderr.strip().splitlines()) == 1,
          "keyward open below min_decryption_version: exit 5, one line naming the policy",
          r.stderr)
    r = keyward("open", input=ct[3] + "\n")
    check(r.returncode == 0 and r.stdout == "abcd", "keyward open inside the window", r.stderr)
    r = keyward("keyring", "show", "aes256", "--json")
    shown = json.loads(r.stdout)["policy"] if r.returncode == 0 else {}
    check(shown.get("min_decryption_version") == 2 and shown.get("min_encryption_version") == 3,
          "keyring show --json shows the policy", r.stdout + r.stderr)
    r = keyward("keyring", "config", "aes256", "--min-decryption-version", "1")
    check(r.returncode == 0, "keyward keyring config lowers min_decryption_version", r.stderr)
    status, _, _ = decrypt("aes256", ct[1])
    deadline = time.monotonic() + 5
    while status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        status, _, _ = decrypt("aes256", ct[1])
    check(status == 200, "keywardd sees the CLI's policy change within 5 s")

    expect_error("POST", "keys/aes256/config", {"auto_rotate_period": 60}, 400,
                 "auto rotate period must be 0 to disable or at least an hour",
                 "config: auto_rotate_period of a minute: 400")
    status, data, _ = call("POST", "keys/aes256/config", {"auto_rotate_period": "2h"})
    check(status == 200 and data["data"]["auto_rotate_period"] == 7200,
          "config: auto_rotate_period \"2h\" is 7200 s")
    expect_error("POST", "keys/aes256/config", {"exportable": True}, 400,
                 "never leave the HSM", "config: exportable is refused")
    expect_error("POST", "keys/aes256/config", {"min_decryption_version": 2}, 403,
                 "permission denied", "config by a writer: 403", app)
    expect_error("POST", "keys/missing/config", {"min_decryption_version": 1}, 400,
                 "no existing key named missing", "config of a missing key: 400")

    # --- TestTransit_Trim.
    call("POST", "keys/aes")
    for _ in range(4):
        call("POST", "keys/aes/rotate")
    expect_error("POST", "keys/aes/trim", {"min_available_version": 1}, 400,
                 "cannot be set when minimum encryption version is not set",
                 "trim before min_encryption_version is set: 400")
    call("POST", "keys/aes/config", {"min_encryption_version": 0})
    expect_error("POST", "keys/aes/trim", {"min_available_version": None}, 400,
                 "missing min_available_version", "trim with a null version: 400")
    call("POST", "keys/aes/config", {"min_encryption_version": 4})
    call("POST", "keys/aes/config", {"min_decryption_version": 3})
    for value, words in ((5, "greater than minimum encryption"),
                         (4, "greater than minimum decryption"),
                         (-1, "cannot be negative"), (0, "should be positive")):
        expect_error("POST", "keys/aes/trim", {"min_available_version": value}, 400, words,
                     "trim to %d: 400 (%s)" % (value, words))
    status, data, _ = call("POST", "keys/aes/trim", {"min_available_version": 3})
    check(status == 200 and sorted(data["data"]["keys"]) == ["3", "4", "5"] and
          data["data"]["min_available_version"] == 3, "trim to 3 leaves versions 3, 4, 5",
          data)
    r = keyward("keyring", "show", "aes", "--json")
    states = {v["version"]: v["state"] for v in json.loads(r.stdout)["versions"]}
    check(states.get(1) == "destroyed" and states.get(2) == "destroyed" and
          states.get(3) == "decrypt-only", "trim destroyed v1 and v2 in the token", states)
    expect_error("POST", "keys/aes/config", {"min_decryption_version": 1}, 400,
                 "should not be less than min available version",
                 "config: min decryption below min available: 400")
    # Vault checks encryption against decryption first, so either rule may be the one named.
    expect_error("POST", "keys/aes/config", {"min_encryption_version": 2}, 400,
                 "min encryption version", "config: min encryption below min available: 400")
    expect_error("POST", "keys/aes/trim", {"min_available_version": 2}, 400,
                 "cannot be decremented", "trim down again: 400")
    for _ in range(5):
        call("POST", "keys/aes/rotate")
    check(sorted(int(k) for k in read("aes")["keys"]) == list(range(3, 11)),
          "five more rotations: versions 3..10")

    # Trim while stored records use an old version: refused with the count, nothing destroyed.
    for args in (["namespace", "map", "held", "--keyring", "aes"], ["put", "held/a", "--kind", "api_key"]):
        r = keyward(*args, input="secret-a")
        check(r.returncode == 0, "keyward " + " ".join(args), r.stderr)
    db = sqlite3.connect(conf.replace("keyward.conf", "keyward.db"))
    db.execute("UPDATE record_versions SET kek_version = 3 WHERE namespace = 'held'")
    db.commit()
    db.close()
    call("POST", "keys/aes/config", {"min_encryption_version": 5, "min_decryption_version": 5})
    expect_error("POST", "keys/aes/trim", {"min_available_version": 5}, 400,
                 "1 stored record versions still use versions below 5",
                 "trim while a record (by its column) uses v3: 400 with the count")
    check(sorted(int(k) for k in read("aes")["keys"]) == list(range(3, 11)),
          "the refused trim destroyed nothing")

    # --- Batch encryption and decryption (TestTransit_BatchEncryptionCase*, BatchDecryption).
    call("POST", "keys/batch")
    items = [{"plaintext": b64(b"one"), "context": b64(b"c1"), "reference": "a"},
             {"plaintext": b64(b"two"), "context": b64(b"c2"), "reference": "b"},
             {"plaintext": b64(b"")}]
    status, data, _ = call("POST", "encrypt/batch", {"batch_input": items}, app)
    results = data["data"]["batch_results"] if status == 200 else []
    check(status == 200 and len(results) == 3 and
          all(r["ciphertext"].startswith("vault:v1:") for r in results) and
          [r.get("reference") for r in results] == ["a", "b", None],
          "batch encrypt: three items, references echoed, an empty plaintext allowed", data)
    back = [{"ciphertext": r["ciphertext"], "context": i.get("context")}
            for r, i in zip(results, items)]
    back = [{k: v for k, v in b.items() if v is not None} for b in back]
    status, data, _ = call("POST", "decrypt/batch", {"batch_input": back}, app)
    plain = [r.get("plaintext") for r in data["data"]["batch_results"]] if status == 200 else []
    check(status == 200 and plain == [b64(b"one"), b64(b"two"), ""],
          "batch decrypt gives every plaintext back in order", data)
    swapped = [dict(back[0], context=b64(b"c2")), back[1]]
    status, data, _ = call("POST", "decrypt/batch", {"batch_input": swapped}, app)
    results = data["data"]["batch_results"]
    check(status == 400 and "message authentication failed" in results[0]["error"] and
          results[1]["plaintext"] == b64(b"two"),
          "batch decrypt with a wrong context: that item fails alone", data)
    expect_error("POST", "encrypt/batch", {"batch_input": []}, 400,
                 "missing batch input to process", "an empty batch_input: 400", app)
    status, data, _ = call("POST", "encrypt/batch",
                           {"batch_input": [{"plaintext": b64(b"x")}, {"context": b64(b"c")}],
                            "partial_failure_response_code": 207}, app)
    results = data["data"]["batch_results"]
    check(status == 207 and "ciphertext" in results[0] and
          "missing plaintext" in results[1]["error"],
          "batch with an item without plaintext, partial_failure_response_code 207", data)

    # --- TestTransit_Rewrap: encrypt, rotate twice, rewrap, decrypt.
    old = encrypt("batch", b"rewrap me", context=b64(b"ctx"))[1]["data"]["ciphertext"]
    call("POST", "keys/batch/rotate")
    call("POST", "keys/batch/rotate")
    status, data, _ = call("POST", "rewrap/batch", {"ciphertext": old, "context": b64(b"ctx")},
                           app)
    new = data["data"]["ciphertext"] if status == 200 else ""
    check(new.startswith("vault:v3:") and data["data"]["key_version"] == 3,
          "rewrap after two rotations gives v3")
    status, data, _ = decrypt("batch", new, context=b64(b"ctx"))
    check(status == 200 and data["data"]["plaintext"] == b64(b"rewrap me"),
          "the rewrapped ciphertext decrypts to the same plaintext")
    status, data, _ = call("POST", "rewrap/batch", {"ciphertext": new}, app)
    check(status == 200 and data["data"]["ciphertext"].startswith("vault:v3:"),
          "rewrap of a latest-version ciphertext stays at v3")

    # --- DELETE: only with deletion_allowed; afterwards the key and its ciphertexts are gone.
    call("POST", "keys/gone")
    doomed = encrypt("gone")[1]["data"]["ciphertext"]
    expect_error("DELETE", "keys/gone", None, 400,
                 "error deleting policy gone: deletion is not allowed for this policy",
                 "DELETE without deletion_allowed: 400")
    call("POST", "keys/gone/config", {"deletion_allowed": True})
    check(read("gone")["deletion_allowed"] is True, "deletion_allowed shows in read_key")
    expect_error("DELETE", "keys/gone", None, 403, "permission denied",
                 "DELETE by a writer: 403", app)
    status, _, payload = call("DELETE", "keys/gone")
    check(status == 204 and payload == b"", "DELETE with deletion_allowed: 204")
    check(call("GET", "keys/gone")[0] == 404, "the deleted key reads as 404")
    expect_error("DELETE", "keys/gone", None, 400, "could not delete key; not found",
                 "DELETE again: 400 not found")
    r = keyward("keyring", "list", "--json")
    check("gone" not in r.stdout, "keyward keyring list no longer shows it")
    call("POST", "keys/gone")
    check(read("gone")["latest_version"] == 1 and read("gone")["deletion_allowed"] is False,
          "a key made again under the name starts at v1 with the default policy")
    status, _, _ = decrypt("gone", doomed)
    check(status == 400, "a ciphertext of the deleted key does not open under the new one")

    # --- rotate answers once the new version is active; the stored records' re-wrap goes on.
    call("POST", "keys/bulk")
    r = keyward("namespace", "map", "bulk", "--keyring", "bulk")
    lines = "".join('{"name": "r%03d", "kind": "api_key", "value_b64": "%s"}\n' %
                    (i, b64(b"value %d" % i)) for i in range(200))
    with open(tmp + "/bulk.jsonl", "w") as f:
        f.write(lines)
    r = keyward("import", "bulk", "--jsonl", tmp + "/bulk.jsonl")
    check(r.returncode == 0, "200 records imported under keyring bulk", r.stderr)
    status, data, _ = call("POST", "keys/bulk/rotate")
    check(status == 200 and data["data"]["latest_version"] == 2,
          "rotate answers with v2 active")
    r = keyward("audit", "list", "--operation", "keyring.rotate", "--json")
    details = [e.get("detail", "") for e in json.loads(r.stdout).get("entries", [])
               if "bulk" in e.get("target", "")] if r.returncode == 0 else []
    check(any("active; the re-wrap of stored records goes on" in d for d in details),
          "the activation is audited before the answer, apart from the job's own entry",
          r.stdout[-600:] + r.stderr)
    deadline = time.monotonic() + 30
    history = []
    while time.monotonic() < deadline:
        r = keyward("keyring", "history", "bulk", "--json")
        history = json.loads(r.stdout).get("jobs", []) if r.returncode == 0 else []
        if history and history[0].get("state") == "finished":
            break
        time.sleep(0.2)
    check(history and history[0].get("state") == "finished" and history[0].get("done") == 200,
          "the re-wrap job finished in the background with all 200 records", history[:1])
    r = keyward("keyring", "show", "bulk", "--json")
    counts = {v["version"]: v["records"] for v in json.loads(r.stdout)["versions"]}
    check(counts == {1: 0, 2: 200}, "every record is under v2 afterwards", counts)

    # --- auto_rotate_period: a keyring whose active version is older than it gets rotated.
    call("POST", "keys/auto")
    call("POST", "keys/auto/config", {"auto_rotate_period": "1h"})
    db = sqlite3.connect(conf.replace("keyward.conf", "keyward.db"))
    db.execute("UPDATE kek_versions SET created_at = '2020-01-01T00:00:00Z' "
               "WHERE keyring = 'auto'")
    db.commit()
    db.close()
    deadline = time.monotonic() + 10
    while read("auto")["latest_version"] != 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    check(read("auto")["latest_version"] == 2, "auto-rotate made v2 of a keyring past its period")
    time.sleep(1)
    check(read("auto")["latest_version"] == 2, "and only once (v2 is new)")

    # --- /v1/sys/metrics?format=prometheus: counted by route template, never by key name.
    status, text = request(port, "GET", "/v1/sys/metrics?format=prometheus", token=app)
    text = text.decode()
    lines = text.splitlines()
    encrypts = [ln for ln in lines if ln.startswith(
        'keywardd_requests_total{route="transit/encrypt/:name",status="200"} ')]
    check(status == 200 and encrypts and int(encrypts[0].split()[-1]) >= 5,
          "metrics: encrypt requests counted by route and status", text[:400])
    check(any(ln.startswith('keywardd_requests_total{route="transit/decrypt/:name",status="400"}')
              for ln in lines), "metrics: the refused decrypts counted as 400")
    inf = [ln for ln in lines if ln.startswith(
        'keywardd_request_duration_seconds_bucket{route="transit/encrypt/:name",le="+Inf"} ')]
    count = [ln for ln in lines if ln.startswith(
        'keywardd_request_duration_seconds_count{route="transit/encrypt/:name"} ')]
    check(inf and count and inf[0].split()[-1] == count[0].split()[-1],
          "metrics: the latency histogram's +Inf bucket equals its count")
    wraps = [ln for ln in lines if ln.startswith('keywardd_hsm_calls_total{function="C_')]
    check(any('rv="CKR_OK"' in ln for ln in wraps) and
          "# TYPE keywardd_hsm_errors_total counter" in text,
          "metrics: HSM calls by function and CK_RV, errors by CK_RV", wraps[:5])
    check("keywardd_worker_queue_depth " in text and "keywardd_rotations_running 0" in text,
          "metrics: worker queue depth and running rotations")
    check("aes256" not in text and "bulk" not in text, "metrics: no key name in any label")
    status, _ = request(port, "GET", "/v1/sys/metrics?format=prometheus")
    check(status == 403, "metrics without a token: 403")
    status, _ = request(port, "GET", "/v1/sys/metrics", token=app)
    check(status == 400, "metrics without format=prometheus: 400")

    check(server.stop() == 0, "SIGTERM: exit 0")
    print("%d failed" % failed())
    return 1 if failed() else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        stop_all()
    sys.exit(code)
