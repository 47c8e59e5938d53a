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

This VM's speed moves by up to 40% within a minute, in phases of tens of seconds, so one run of
the library beside one run of keywardd can compare a fast phase with a slow one. Each row is
therefore measured in rounds that interleave the two: --rounds pairs of --seconds each, in the
order library, keywardd, keywardd, library, ... (ABBA, so that a steady drift cancels). A rate is
its total operations over its total time; the ratio is keywardd's rate over the library's, and
the row also shows the lowest and highest ratio of single rounds. p50 is the median of the
rounds', p99 the median of the rounds' p99 with the worst round's beside it (one hiccup of the
VM shows there, not in the median). keywardd's CPU time per request (from /proc) is printed too.

usage: bench/service_bench.py [--build DIR] [--seconds N] [--rounds N]
"""
import argparse
import base64
import json
import os
import shutil
import signal
import statistics
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
    ap.add_argument("--seconds", type=int, default=5, help="length of one run")
    ap.add_argument("--rounds", type=int, default=4, help="interleaved pairs per row")
    a = ap.parse_args()
    if a.rounds < 2 or a.rounds % 2:
        ap.error("--rounds must be even (ABBA pairs), at least 2")
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
        return {"ops": r["ops"], "seconds": r["ops"] / r["ops_per_s"]}

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

        def interleaved(lib_op, name, path, connections):
            """Rounds of the library's op and keywardd's load, ABBA; totals and per-round."""
            lib_ops = lib_s = kd_req = kd_s = kd_cpu = 0.0
            ratios, p50s, p99s = [], [], []
            non_2xx = socket_errors = 0
            for i in range(a.rounds):
                if i % 2 == 0:
                    lib = library(lib_op)
                    r = load(name, path, connections)
                else:
                    r = load(name, path, connections)
                    lib = library(lib_op)
                lib_ops += lib["ops"]
                lib_s += lib["seconds"]
                kd_req += r["requests"]
                kd_s += r["seconds"]
                kd_cpu += r["cpu_us"] * r["requests"]
                ratios.append((r["requests"] / r["seconds"]) / (lib["ops"] / lib["seconds"]))
                p50s.append(r["p50_us"])
                p99s.append(r["p99_us"])
                non_2xx += r["non_2xx"]
                socket_errors += r["socket_errors"]
            return {"lib_rate": lib_ops / lib_s, "rps": kd_req / kd_s, "ratios": ratios,
                    "p50_us": statistics.median(p50s),
                    "p99_us": statistics.median(p99s), "p99_worst_us": max(p99s),
                    "cpu_us": kd_cpu / max(kd_req, 1), "non_2xx": non_2xx,
                    "socket_errors": socket_errors}

        print("%d interleaved rounds of %d s per row; the library on 2 threads" %
              (a.rounds, a.seconds), flush=True)
        for op, name, lib_op in (("encrypt", "encrypt", "seal"), ("decrypt", "decrypt", "open")):
            for c in (1, 16, 64):
                r = interleaved(lib_op, name, "/v1/transit/%s/bench" % op, c)
                print("keywardd %-7s c=%-3d %8.0f req/s  p50 %6d us  p99 %6d us (worst %d)  "
                      "library %s %6.0f ops/s  %.2f x (rounds %.2f-%.2f)  "
                      "keywardd CPU %4.0f us/req  (non-2xx %d, socket errors %d)" %
                      (op, c, r["rps"], r["p50_us"], r["p99_us"], r["p99_worst_us"], lib_op,
                       r["lib_rate"], r["rps"] / r["lib_rate"], min(r["ratios"]),
                       max(r["ratios"]), r["cpu_us"], r["non_2xx"], r["socket_errors"]),
                      flush=True)
        r = interleaved("seal", "batch250", "/v1/transit/encrypt/bench", 2)
        items = r["rps"] * 250
        print("keywardd batch encrypt 250 items c=2: %8.1f req/s = %8.0f items/s  p50 %d us  "
              "p99 %d us (worst %d)  library seal %6.0f ops/s  %.2f x (rounds %.2f-%.2f)  "
              "(non-2xx %d)" %
              (r["rps"], items, r["p50_us"], r["p99_us"], r["p99_worst_us"], r["lib_rate"],
               items / r["lib_rate"], 250 * min(r["ratios"]), 250 * max(r["ratios"]),
               r["non_2xx"]), flush=True)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
