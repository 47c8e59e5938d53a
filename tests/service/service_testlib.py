# SPDX-License-Identifier: Apache-2.0
"""What keywardd's end-to-end tests share: checks, a daemon on loopback, raw HTTP, a fresh
token and database made with keyward init."""
import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import time

failures = 0
RUNNING = []  # servers to stop whatever happens


def check(ok, what, detail=""):
    global failures
    if ok:
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + ("\n     " + str(detail).replace("\n", "\n     ") if detail else ""))


def b64(data):
    return base64.b64encode(data).decode()


class Server:
    """keywardd with extra config lines, on 127.0.0.1 and a free port."""

    def __init__(self, daemon, conf, env, extra=(), listen="127.0.0.1:0", prefix=()):
        self.conf = conf + ".service"
        with open(conf) as f:
            text = f.read()
        with open(self.conf, "w") as f:
            f.write(text + "".join(line + "\n" for line in extra))
        os.chmod(self.conf, 0o600)
        self.log_path = conf + ".log"
        self.log = open(self.log_path, "w")
        self.p = subprocess.Popen(list(prefix) + [daemon, "--config", self.conf,
                                                  "--listen", listen],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=self.log, env=env)
        RUNNING.append(self)
        self.port = None
        deadline = time.monotonic() + 30
        while self.port is None and time.monotonic() < deadline and self.p.poll() is None:
            for line in open(self.log_path):
                if "(port " in line:
                    self.port = int(line.split("(port ")[1].split(")")[0])
            time.sleep(0.05)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return -9

    def log_text(self):
        self.log.flush()
        return open(self.log_path).read()


def request(port, method, path, body=None, token=None, headers=None, tls=None):
    conn = (http.client.HTTPSConnection("127.0.0.1", port, context=tls, timeout=30) if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=30))
    h = dict(headers or {})
    if token:
        h["X-Vault-Token"] = token
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    conn.request(method, path, body=data, headers=h)
    r = conn.getresponse()
    payload = r.read()
    conn.close()
    return r.status, payload


def healthy(port, tls=None):
    try:
        status, body = request(port, "GET", "/v1/sys/health", tls=tls)
        return status == 200 and json.loads(body)["initialized"] is True
    except OSError:
        return False


def thread_policies(pid):
    """The scheduling policy of each of a process's threads (0 normal, 3 SCHED_BATCH)."""
    policies = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        policies.append(int(fields[38]))  # field 41 of proc(5); fields[0] is field 3
    return sorted(policies)


def failed():
    return failures


def fresh_setup(cli, tmp):
    """keyward init --softhsm in tmp; returns (conf, env, keyward) or raises."""
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    env = dict(os.environ)
    env.pop("KEYWARD_PIN", None)
    setup = os.path.join(tmp, "setup")
    r = subprocess.run([cli, "init", "--softhsm", setup], capture_output=True, env=env)
    if r.returncode != 0:
        raise RuntimeError("keyward init failed: " + r.stderr.decode())
    conf = os.path.join(setup, "keyward.conf")
    env["KEYWARD_CONFIG"] = conf

    def keyward(*args, **kw):
        return subprocess.run([cli] + list(args), capture_output=True, env=env, text=True, **kw)

    return conf, env, keyward


def new_token(keyward, principal, *grants):
    args = ["token", "create", "--principal", principal]
    for role, scope in grants:
        args += ["--role", role, "--on", scope]
    r = keyward(*args)
    check(r.returncode == 0, "token create for " + principal, r.stderr)
    return r.stdout.strip().splitlines()[-1]


def stop_all():
    for server in RUNNING:
        if server.p.poll() is None:
            server.p.kill()
