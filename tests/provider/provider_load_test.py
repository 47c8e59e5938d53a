#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keyward.so with the stock openssl binary: it exports OSSL_provider_init and nothing else, loads
by -provider-path and by an openssl.cnf that activates default before it, reports its name,
version and status, and loads without a token (the token is touched lazily, never in init).

usage: provider_load_test.py KEYWARD_SO KEYWARD_VERSION TMPDIR
"""
import os
import sys

import provider_testlib
from provider_testlib import check, summary


def run(args, env=None):
    return provider_testlib.run(args, env=env, text=True)


def main():
    module, version, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    module_dir = os.path.dirname(module)
    os.makedirs(tmp, exist_ok=True)

    symbols = run(["nm", "-D", "--defined-only", module])
    exported = sorted(line.split()[-1] for line in symbols.stdout.splitlines() if line.strip())
    check(exported == ["OSSL_provider_init"], "only OSSL_provider_init is exported",
          "exported: " + " ".join(exported))

    expected = ("  keyward\n    name: keyward: HSM-held KEKs\n    version: " + version +
                "\n    status: active\n")
    env = dict(os.environ)
    env.pop("OPENSSL_CONF", None)
    env.pop("OPENSSL_MODULES", None)
    # No keyward configuration anywhere: loading must not need one (nor the token).
    env["KEYWARD_CONFIG"] = os.path.join(tmp, "does-not-exist.conf")
    r = run(["openssl", "list", "-providers", "-provider-path", module_dir,
             "-provider", "default", "-provider", "keyward"], env)
    check(r.returncode == 0 and expected in r.stdout and "  default\n" in r.stdout,
          "openssl list -providers -provider-path DIR -provider default -provider keyward",
          r.stdout + r.stderr)

    conf = os.path.join(tmp, "openssl.cnf")
    with open(conf, "w") as f:
        f.write("openssl_conf = openssl_init\n[openssl_init]\nproviders = provider_sect\n"
                "[provider_sect]\ndefault = default_sect\nkeyward = keyward_sect\n"
                "[default_sect]\nactivate = 1\n"
                "[keyward_sect]\nmodule = " + os.path.abspath(module) + "\n"
                "keyward-config = " + os.path.join(tmp, "keyward.conf") + "\n"
                "principal = wallet-svc\nactivate = 1\n")
    env["OPENSSL_CONF"] = conf
    r = run(["openssl", "list", "-providers"], env)
    check(r.returncode == 0 and expected in r.stdout and "  default\n" in r.stdout,
          "openssl.cnf activating default, then keyward", r.stdout + r.stderr)
    # default stays usable beside it: an ordinary digest through the same configuration.
    r = run(["openssl", "dgst", "-sha256"], env)
    check(r.returncode == 0 and "e3b0c44298fc1c149afbf4c8996fb924" in r.stdout,
          "default provider still serves the application", r.stdout + r.stderr)

    return summary()


if __name__ == "__main__":
    sys.exit(main())
