#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keyward.so wrapping and unwrapping data keys with the stock openssl binary on a fresh SoftHSM
token made by `keyward init --softhsm`: a pkeyutl round trip through keyward:NAME, a provider blob
accepted by `keyward rewrap`, old blobs after a rotation, keyward:NAME;version=N, an unknown
keyring, a principal without a grant, bad input sizes, and the audit entries, all with one
clear error and nothing of SoftHSM's own libcrypto errors in the caller's queue.

usage: provider_wrap_test.py KEYWARD_SO KEYWARD_CLI TMPDIR KEM_CLIENT
"""
import os
import sys

from provider_testlib import check, fresh_setup, kek_version, refused, run, summary

def main():
    module, cli, tmp, kem_client = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    env = fresh_setup(cli, tmp)
    if env is None:
        return 1
    check(run([cli, "keyring", "create", "pk"], env).returncode == 0, "keyring create pk")

    pk = ["openssl", "pkeyutl", "-provider-path", os.path.dirname(module), "-provider", "default",
          "-provider", "keyward"]
    dek = bytes(range(32))
    r = run(pk + ["-encrypt", "-inkey", "keyward:pk"], env, dek)
    blob = r.stdout
    check(r.returncode == 0 and blob[:4] == b"KWK\x01" and kek_version(blob) == 1,
          "pkeyutl -encrypt through keyward:pk gives a kwk1 blob under v1", r.stderr.decode())
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk"], env, blob)
    check(r.returncode == 0 and r.stdout == dek, "pkeyutl -decrypt gives the data key back",
          r.stderr.decode())

    # The blob is keyward's own format: the CLI re-wraps it.
    blob_file = os.path.join(tmp, "blob.bin")
    with open(blob_file, "wb") as f:
        f.write(blob)
    r = run([cli, "rewrap", "--in", blob_file], env)
    check(r.returncode == 0 and r.stdout[:4] == b"KWK\x01", "keyward rewrap accepts the blob",
          r.stderr.decode())

    # A blob from keyward datakey (kwk1: text form) unwraps through the provider.
    key_file, text_file = os.path.join(tmp, "cli.key"), os.path.join(tmp, "cli.kwk1")
    r = run([cli, "datakey", "--keyring", "pk", "--out-key", key_file, "--out-blob", text_file],
            env)
    check(r.returncode == 0, "keyward datakey", r.stderr.decode())
    with open(key_file, "rb") as f:
        cli_key = f.read()
    with open(text_file, "rb") as f:
        cli_blob = f.read()
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk"], env, cli_blob)
    check(cli_blob.startswith(b"kwk1:") and r.returncode == 0 and r.stdout == cli_key,
          "a kwk1: blob from keyward datakey unwraps through the provider", r.stderr.decode())

    # After a rotation: old blobs still unwrap, new ones use v2.
    check(run([cli, "keyring", "rotate", "pk"], env).returncode == 0, "keyring rotate pk")
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk"], env, blob)
    check(r.returncode == 0 and r.stdout == dek, "a v1 blob unwraps after the rotation",
          r.stderr.decode())
    r = run(pk + ["-encrypt", "-inkey", "keyward:pk"], env, dek)
    check(r.returncode == 0 and kek_version(r.stdout) == 2, "new blobs are wrapped under v2",
          r.stderr.decode())
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk;version=1"], env, blob)
    check(r.returncode == 0 and r.stdout == dek, "keyward:pk;version=1 unwraps a v1 blob",
          r.stderr.decode())

    # The KEM, from a C program that knows only libcrypto.
    r = run([kem_client, os.path.dirname(module), "keyward:pk"], env)
    check(r.returncode == 0 and r.stdout == b"kem ok\n",
          "EVP_PKEY_encapsulate / decapsulate round trip, tampered blob refused",
          (r.stdout + r.stderr).decode())

    refused(run(pk + ["-encrypt", "-inkey", "keyward:nosuch"], env, dek),
            'keyring "nosuch" does not exist', "an unknown keyring is named")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk;version=9"], env, dek),
            "keyring pk has no version 9", "an unknown version is named")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk;colour=red"], env, dek),
            "the only attribute is version=N", "a bad URI attribute is named")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk"], env, b"abc"),
            "data key size 3 is outside 16-64 bytes", "a 3-byte data key is refused")
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk;version=2"], env, blob),
            "the blob is of version 1, not of keyward:pk;version=2",
            "a pinned version refuses another version's blob")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk;version=1"], env, dek),
            "version 1 of keyring \"pk\" is decrypt-only; only the active version wraps",
            "no wrap under a pinned version that is not active")
    check(run([cli, "keyring", "create", "other"], env).returncode == 0, "keyring create other")
    refused(run(pk + ["-decrypt", "-inkey", "keyward:other"], env, blob),
            "the blob is of keyring pk, not of keyward:other", "a blob of another keyring")
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk"], env, bytes(tampered)),
            "authentication failed", "a tampered blob fails authentication")

    # Raw RFC 5649 (keyward-format:raw): no header, so the version is pinned both ways. The
    # bytes are what openssl enc -id-aes256-wrap-pad makes (proven by the p11 known-answer
    # test, tests/p11/kek_wrap_test.cpp); here they unwrap in the token under the real KEK.
    raw = ["-pkeyopt", "keyward-format:raw"]
    r = run(pk + ["-encrypt", "-inkey", "keyward:pk;version=2"] + raw, env, dek)
    raw_v2 = r.stdout
    check(r.returncode == 0 and len(raw_v2) == 40 and raw_v2[:4] != b"KWK\x01",
          "raw mode: a 32-byte data key wraps to 40 bytes of RFC 5649", r.stderr.decode())
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk;version=2"] + raw, env, raw_v2)
    check(r.returncode == 0 and r.stdout == dek, "raw output unwraps in the token under v2",
          r.stderr.decode())
    key16 = bytes(range(100, 116))
    r = run(pk + ["-encrypt", "-inkey", "keyward:pk;version=2"] + raw, env, key16)
    check(r.returncode == 0 and len(r.stdout) == 24, "raw mode: a 16-byte key wraps to 24 bytes",
          r.stderr.decode())
    r = run(pk + ["-decrypt", "-inkey", "keyward:pk;version=2"] + raw, env, r.stdout)
    check(r.returncode == 0 and r.stdout == key16, "and unwraps to the same 16 bytes",
          r.stderr.decode())
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk"] + raw, env, dek),
            "raw RFC 5649 output carries no KEK version: name it, keyward:pk;version=N",
            "raw wrap without a pinned version")
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk"] + raw, env, raw_v2),
            "raw RFC 5649 output carries no KEK version", "raw unwrap without a pinned version")
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk;version=1"] + raw, env, raw_v2),
            "authentication failed", "raw output under another version fails authentication")
    bad_raw = bytearray(raw_v2)
    bad_raw[10] ^= 0x40
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk;version=2"] + raw, env, bytes(bad_raw)),
            "authentication failed", "tampered raw output fails authentication")
    refused(run(pk + ["-decrypt", "-inkey", "keyward:pk;version=2"] + raw, env, raw_v2[:-8]),
            "authentication failed", "truncated raw output fails authentication")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:pk;version=1"] + raw, env, dek),
            "version 1 of keyring \"pk\" is decrypt-only; only the active version wraps",
            "raw wrap under a version that is not active")
    r = run(pk + ["-encrypt", "-inkey", "keyward:pk;version=2", "-pkeyopt",
                  "keyward-format:pem"], env, dek)
    check(r.returncode == 1 and 'keyward-format is kwk1 or raw, not "pem"' in r.stderr.decode(),
          "an unknown keyward-format is named", r.stderr.decode())
    check(run([cli, "keyring", "create", "gcm", "--suite", "2"], env).returncode == 0,
          "keyring create gcm --suite 2")
    refused(run(pk + ["-encrypt", "-inkey", "keyward:gcm;version=1"] + raw, env, dek),
            "raw RFC 5649 needs a suite 1 keyring", "raw mode on a suite 2 keyring")
    r = run([cli, "audit", "list", "--operation", "datakey.wrap-raw"], env)
    check(r.stdout.decode().count(" owner datakey.wrap-raw keyring:pk/v2 ok") == 2,
          "raw wraps are audited with their version", r.stdout.decode())

    # A principal from openssl.cnf without a grant.
    conf = os.path.join(tmp, "openssl.cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                "[provider_sect]\ndefault = default_sect\nkeyward = keyward_sect\n"
                "[default_sect]\nactivate = 1\n[keyward_sect]\nmodule = " +
                os.path.abspath(module) + "\nkeyward-config = " + env["KEYWARD_CONFIG"] +
                "\nprincipal = nobody\nactivate = 1\n")
    cnf_env = dict(env)
    cnf_env["OPENSSL_CONF"] = conf
    cnf_env.pop("KEYWARD_CONFIG")
    refused(run(["openssl", "pkeyutl", "-encrypt", "-inkey", "keyward:pk"], cnf_env, dek),
            "access denied: nobody needs a role on keyring:pk", "a principal without a grant")
    check(run([cli, "access", "grant", "nobody", "writer", "--on", "keyring:pk"], env).returncode
          == 0, "grant nobody writer on keyring:pk")
    r = run(["openssl", "pkeyutl", "-encrypt", "-inkey", "keyward:pk"], cnf_env, dek)
    check(r.returncode == 0 and r.stdout[:4] == b"KWK\x01",
          "with the grant, through openssl.cnf's principal", r.stderr.decode())

    # Audited, under the declared principal (the owner holds the PIN: "owner as nobody").
    r = run([cli, "audit", "list", "--operation", "datakey.wrap"], env)
    log = r.stdout.decode()
    check(" owner as nobody datakey.wrap keyring:pk ok" in log and
          " owner datakey.wrap keyring:pk ok" in log, "provider calls are in the audit log", log)
    r = run([cli, "audit", "verify"], env)
    check(r.returncode == 0, "the audit log verifies", r.stderr.decode())

    return summary()


if __name__ == "__main__":
    sys.exit(main())
