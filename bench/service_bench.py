#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keywardd under load (issue 13's benchmark; figures in docs/PERFORMANCE.md).

On a fresh SoftHSM token and database, in one run:
  1. the library's own seal and open on 2 threads through the public API, grouped audit
     (bench/library_throughput_bench): the limit the service is compared with;
  2. keywardd on loopback, loaded by wrk (keep-alive, bench/wrk/transit.lua) with encrypt and
     decrypt of a 256-byte plaintext at concurrency 1, 16 and 64, and batch encrypt of 250
     items at concurrency 2;
and prints requests/s, p50 and p99 with the ratios to the library. wrk shares the machine.

This VM's speed moves by up to 25% within a minute, so each keywardd row is paired with a run
of the library's operation made just before it, and its ratio is to that run. keywardd's CPU
time per request (from /proc) is printed too: it moves less than the rates do.

usage: bench/service_bench.py [--build DIR] [--seconds N]
"""
import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, check=True, **kw)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--seconds", type=int, default=10)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    cli = os.path.join(build, "src", "cli", "keyward")
    daemon = os.path.join(build, "src", "service", "keywardd")
    lib_bench = os.path.join(build, "bench", "library_throughput_bench")
    tmp = os.path.join(build, "bench-tmp", "service")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ)
    env.pop("KEYWARD_PIN", None)
    run(cli, "init", "--softhsm", os.path.join(tmp, "setup"), env=env)
    conf = os.path.join(tmp, "setup", "keyward.conf")
    env["KEYWARD_CONFIG"] = conf
    run(cli, "keyring", "create", "bench", env=env)
    token = run(cli, "token", "create", "--principal", "bench", "--role", "writer", "--on",
                "keyring:bench", "--role", "reader", "--on", "keyring:bench",
                env=env).stdout.strip().splitlines()[-1]

    def library(op):
        out = run(lib_bench, "--config", conf, "--keyring", "bench", "--op", op, "--threads",
                  "2", "--seconds", str(a.seconds), env=env).stdout
        r = json.loads(out)
        print("library %-4s 2 threads: %8.0f ops/s  p50 %6.0f us  p99 %6.0f us" %
              (op, r["ops_per_s"], r["p50_us"], r["p99_us"]), flush=True)
        return r

    log = open(os.path.join(tmp, "keywardd.log"), "w")
    server = subprocess.Popen([daemon, "--config", conf, "--listen", "127.0.0.1:0"],
                              stderr=log, stdout=subprocess.DEVNULL, env=env)
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            for line in open(os.path.join(tmp, "keywardd.log")):
                if "(port " in line:
                    port = int(line.split("(port ")[1].split(")")[0])
            time.sleep(0.05)
        if port is None:
            print("keywardd did not start")
            return 1
        url = "http://127.0.0.1:%d" % port
        plaintext = base64.b64encode(os.urandom(256)).decode()
        context = base64.b64encode(b"bench").decode()
        bodies = {
            "encrypt": {"plaintext": plaintext, "context": context},
            "batch250": {"batch_input": [{"plaintext": plaintext, "context": context}] * 250},
        }
        req = urllib.request.Request(url + "/v1/transit/encrypt/bench",
                                     data=json.dumps(bodies["encrypt"]).encode(),
                                     headers={"X-Vault-Token": token}, method="POST")
        ct = json.loads(urllib.request.urlopen(req).read())["data"]["ciphertext"]
        bodies["decrypt"] = {"ciphertext": ct, "context": context}
        for name, body in bodies.items():
            with open(os.path.join(tmp, name + ".json"), "w") as f:
                json.dump(body, f)

        ticks = os.sysconf("SC_CLK_TCK")

        def cpu_seconds():
            with open("/proc/%d/stat" % server.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime

        def load(name, path, connections):
            wenv = dict(os.environ, KW_TOKEN=token, KW_PATH=path,
                        KW_BODY=os.path.join(tmp, name + ".json"))
            before = cpu_seconds()
            out = run("wrk", "-t%d" % min(connections, 2), "-c%d" % connections,
                      "-d%ds" % a.seconds, "-s", os.path.join(HERE, "wrk", "transit.lua"), url,
                      env=wenv).stdout
            r = json.loads([ln for ln in out.splitlines() if ln.startswith("{")][-1])
            r["cpu_us"] = (cpu_seconds() - before) * 1e6 / max(r["requests"], 1)
            return r

        for op, name, lib_op in (("encrypt", "encrypt", "seal"), ("decrypt", "decrypt", "open")):
            for c in (1, 16, 64):
                limit = library(lib_op)
                r = load(name, "/v1/transit/%s/bench" % op, c)
                print("keywardd %-7s c=%-3d %8.0f req/s  p50 %6d us  p99 %6d us  "
                      "%.2f x library  keywardd CPU %4.0f us/req  (non-2xx %d, socket errors %d)" %
                      (op, c, r["rps"], r["p50_us"], r["p99_us"], r["rps"] / limit["ops_per_s"],
                       r["cpu_us"], r["non_2xx"], r["socket_errors"]), flush=True)
        limit = library("seal")
        r = load("batch250", "/v1/transit/encrypt/bench", 2)
        items = r["rps"] * 250
        print("keywardd batch encrypt 250 items c=2: %8.1f req/s = %8.0f items/s  p50 %d us  "
              "p99 %d us  %.2f x library seal  (non-2xx %d)" %
              (r["rps"], items, r["p50_us"], r["p99_us"], items / limit["ops_per_s"],
               r["non_2xx"]), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
