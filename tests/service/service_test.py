#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""keywardd on a fresh SoftHSM token, started on loopback by the test, driven by a real Vault
client (hvac, from Debian) and by raw HTTP for what clients never send:

- hvac: authentication, create, encrypt and decrypt with context, a wrong context, rotate,
  decrypt old, read and list keys, batch with a bad item, a token without the role, a revoked
  token within 5 s;
- bad input: malformed JSON, wrong types, bad base64, a tampered ciphertext, an oversized body
  (413), a slow client (closed at the header timeout), a flood of connections; after each the
  server still answers /v1/sys/health;
- connections: pipelined requests over TCP and a Unix socket, clients that stop reading large
  answers (no handler thread waits on them, the answers arrive whole once read) and one that
  never reads (cut off at the write timeout);
- TLS with a test CA made here; plain HTTP refused on a non-loopback address; SIGTERM drains
  and exits 0; the audit log names every request's principal and client.

usage: service_test.py KEYWARDD KEYWARD_CLI TMPDIR
"""
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

import hvac

import service_testlib
from service_testlib import Server, b64, check, failed, healthy, request, stop_all

class Answers:
    """HTTP/1.1 answers read one by one from a raw socket; bytes past one answer (the next
    pipelined one) are kept for the next."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""

    def _more(self, size):
        try:
            chunk = self.sock.recv(size)
        except OSError:
            chunk = b""
        self.pending += chunk
        return bool(chunk)

    def next(self):
        """(status, headers, body, complete)"""
        while b"\r\n\r\n" not in self.pending:
            if not self._more(65536):
                return None, {}, b"", False
        head, _, rest = self.pending.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip()
                   for k, v in (l.split(":", 1) for l in lines[1:])}
        length = int(headers.get("content-length", "0"))
        self.pending = rest
        while len(self.pending) < length:
            if not self._more(1 << 20):
                body, self.pending = self.pending, b""
                return status, headers, body, False
        body, self.pending = self.pending[:length], self.pending[length:]
        return status, headers, body, True


def read_answer(sock):
    return Answers(sock).next()


def raw_post(path, body, token):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nX-Vault-Token: " +
            token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: " +
            str(len(body)).encode() + b"\r\n\r\n" + body)


def connection_handling(port, unix_path, writer):
    """Pipelining, a Unix socket, clients that stop reading (issue 13: the handler threads
    write answers themselves on plain sockets, and must never wait on a client)."""
    small = json.dumps({"plaintext": b64(b"pipelined one"), "context": b64(b"c")}).encode()
    other = json.dumps({"plaintext": b64(b"pipelined two"), "context": b64(b"c")}).encode()
    for name, family, address in (("TCP", socket.AF_INET, ("127.0.0.1", port)),
                                  ("Unix socket", socket.AF_UNIX, unix_path)):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(20)
        s.connect(address)
        # Two requests in one send: answered in order on the same connection.
        s.sendall(raw_post("/v1/transit/encrypt/orders", small, writer) +
                  raw_post("/v1/transit/encrypt/orders", other, writer))
        reader = Answers(s)
        answers = [reader.next(), reader.next()]
        s.close()
        cts = [json.loads(a[2])["data"]["ciphertext"] if a[0] == 200 else None for a in answers]
        plain = []
        for ct in cts:
            status, payload = request(port, "POST", "/v1/transit/decrypt/orders",
                                      {"ciphertext": ct, "context": b64(b"c")}, writer)
            plain.append(base64.b64decode(json.loads(payload)["data"]["plaintext"])
                         if status == 200 else None)
        check(all(a[3] for a in answers) and plain == [b"pipelined one", b"pipelined two"],
              name + ": two pipelined encrypts answered in order", [a[:2] for a in answers])

    # "Connection: close" with another request already sent behind it: the answer arrives
    # whole and then the connection ends (closing with unread input would make the kernel
    # reset the connection and destroy the answer in flight).
    lost = 0
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", port), timeout=20)
        first = raw_post("/v1/transit/encrypt/orders", small, writer).replace(
            b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
        s.sendall(first + raw_post("/v1/transit/encrypt/orders", other, writer) * 50)
        time.sleep(0.05)  # the answer is written while the rest is still unread
        reader = Answers(s)
        status, headers, _, complete = reader.next()
        rest = reader.next()
        s.close()
        if not (status == 200 and complete and headers.get("connection") == "close" and
                rest[0] is None):
            lost += 1
    check(lost == 0, "Connection: close with more requests behind it: the answer arrives "
          "whole, then the end (%d of 20 lost)" % lost)

    # Clients that stop reading an answer larger than the socket buffers: more of them than
    # there are handler threads. None of them may hold a thread: health and an encrypt on
    # another connection answer at once, and each answer arrives whole once read.
    big_plain = os.urandom(6 << 20)
    big = json.dumps({"plaintext": b64(big_plain), "context": b64(b"big")}).encode()
    stalled = []
    for _ in range(6):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(30)
        s.connect(("127.0.0.1", port))
        s.sendall(raw_post("/v1/transit/encrypt/orders", big, writer))
        stalled.append(s)
    time.sleep(1.0)  # every answer is made and stuck in the socket buffers
    start = time.monotonic()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/v1/transit/encrypt/orders",
                     json.dumps({"plaintext": b64(b"meanwhile")}), {"X-Vault-Token": writer})
        answer = conn.getresponse()
        status, payload = answer.status, answer.read()
        conn.close()
    except OSError as e:  # a handler thread stuck on a client: no answer in 5 s
        status, payload = None, str(e).encode()
    took = time.monotonic() - start
    check(status == 200 and took < 2,
          "6 clients not reading 8 MB answers hold no handler thread (encrypt in %.2f s)" % took,
          (status, payload[:200]))
    results = []
    import threading
    def drain(sock):
        results.append(read_answer(sock))
        sock.close()
    readers = [threading.Thread(target=drain, args=(s,)) for s in stalled]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    whole = [r for r in results if r[0] == 200 and r[3]]
    check(len(whole) == 6, "their answers arrive whole once read (%d of 6)" % len(whole),
          [(r[0], len(r[2]), r[3]) for r in results])
    if whole:
        ct = json.loads(whole[0][2])["data"]["ciphertext"]
        status, payload = request(port, "POST", "/v1/transit/decrypt/orders",
                                  {"ciphertext": ct, "context": b64(b"big")}, writer)
        check(status == 200 and
              base64.b64decode(json.loads(payload)["data"]["plaintext"]) == big_plain,
              "a 6 MiB answer written partly by the handler and partly by the I/O thread "
              "decrypts to the plaintext")

    # The same with an answer larger than the socket buffers, so that its end is still in the
    # server's send queue when the server is done writing: closing then must not discard it.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    first = raw_post("/v1/transit/encrypt/orders", big, writer).replace(
        b"Host: x\r\n", b"Host: x\r\nConnection: close\r\n")
    s.sendall(first)
    time.sleep(0.5)  # the server has read the request and is writing the answer
    s.sendall(raw_post("/v1/transit/encrypt/orders", small, writer))  # never read by it
    time.sleep(0.5)
    status, headers, body, complete = Answers(s).next()
    s.close()
    check(status == 200 and complete,
          "Connection: close with a request behind it and an 8 MB answer: the answer arrives "
          "whole (%d of %s bytes)" % (len(body), headers.get("content-length")))

    # A client that never reads: cut off at the write timeout (4 s here); the answer it finally
    # reads is short of its Content-Length.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(raw_post("/v1/transit/encrypt/orders", big, writer))
    time.sleep(6.5)
    status, headers, body, complete = read_answer(s)
    s.close()
    check(status == 200 and not complete and len(body) < int(headers["content-length"]),
          "a client that never reads is cut off at the write timeout (%d of %s bytes)" %
          (len(body), headers.get("content-length")))
    check(healthy(port), "healthy after the clients that stopped reading")


def main():
    daemon, cli, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
    conf, env, keyward = service_testlib.fresh_setup(cli, tmp)

    def new_token(principal, *grants):
        return service_testlib.new_token(keyward, principal, *grants)

    admin = new_token("app-admin", ("admin", "*"))
    writer = new_token("app", ("writer", "keyring:orders"), ("reader", "keyring:orders"))
    reader = new_token("auditor-app", ("reader", "keyring:orders"))

    unix_path = os.path.join(tmp, "keywardd.sock")
    server = Server(daemon, conf, env, ["service_header_timeout_ms = 1000",
                                        "service_write_timeout_ms = 4000",
                                        "service_workers = 4",
                                        "service_max_connections = 64",
                                        "socket = " + unix_path])
    check(server.port is not None, "keywardd starts on 127.0.0.1", server.log_text())
    if server.port is None:
        return 1
    url = "http://127.0.0.1:%d" % server.port
    port = server.port
    # keywardd changes only the normal policy (0) to SCHED_BATCH (3), and keeps any other it
    # inherits from whoever runs the tests.
    inherited = os.sched_getscheduler(0)
    policies = service_testlib.thread_policies(server.p.pid)
    check(len(policies) >= 6 and set(policies) == {3 if inherited in (0, 3) else inherited},
          "every keywardd thread runs under SCHED_BATCH by default (started under policy %d)"
          % inherited, policies)

    # hvac, as a wallet service would use it.
    c = hvac.Client(url=url, token=admin)
    check(c.is_authenticated(), "hvac: is_authenticated with a keyward token")
    check(not hvac.Client(url=url, token="kwt_" + "0" * 64).is_authenticated(),
          "hvac: an unknown token is not authenticated")
    made = c.secrets.transit.create_key(name="orders")
    check(made["data"]["type"] == "aes256-gcm96" and made["data"]["latest_version"] == 1,
          "hvac: create_key gives an aes256-gcm96 key at version 1", made)
    again = c.secrets.transit.create_key(name="orders")
    check(again["warnings"] and "already exists" in again["warnings"][0],
          "creating an existing key succeeds with a warning", again)
    w = hvac.Client(url=url, token=writer)
    ctx = b64(b"order-17")
    enc = w.secrets.transit.encrypt_data(name="orders", plaintext=b64(b"4111 1111"), context=ctx)
    ct1 = enc["data"]["ciphertext"]
    check(ct1.startswith("vault:v1:") and enc["data"]["key_version"] == 1,
          "hvac: encrypt_data gives vault:v1:", enc)
    dec = w.secrets.transit.decrypt_data(name="orders", ciphertext=ct1, context=ctx)
    check(base64.b64decode(dec["data"]["plaintext"]) == b"4111 1111",
          "hvac: decrypt_data gives the plaintext back")
    try:
        w.secrets.transit.decrypt_data(name="orders", ciphertext=ct1, context=b64(b"order-18"))
        check(False, "another context must not decrypt")
    except hvac.exceptions.InvalidRequest as e:
        check("message authentication failed" in str(e), "another context: 400, auth failed",
              e)
    c.secrets.transit.rotate_key(name="orders")
    key = c.secrets.transit.read_key(name="orders")["data"]
    check(key["latest_version"] == 2 and sorted(key["keys"]) == ["1", "2"],
          "hvac: after rotate_key, latest_version 2 and both versions listed", key)
    enc2 = w.secrets.transit.encrypt_data(name="orders", plaintext=b64(b"x"), context=ctx)
    check(enc2["data"]["ciphertext"].startswith("vault:v2:"), "new ciphertext under v2")
    dec = w.secrets.transit.decrypt_data(name="orders", ciphertext=ct1, context=ctx)
    check(base64.b64decode(dec["data"]["plaintext"]) == b"4111 1111",
          "a v1 ciphertext still decrypts after the rotation")
    rewrapped = w.secrets.transit.rewrap_data(name="orders", ciphertext=ct1, context=ctx)
    ct1_v2 = rewrapped["data"]["ciphertext"]
    check(ct1_v2.startswith("vault:v2:") and rewrapped["data"]["key_version"] == 2,
          "hvac: rewrap_data moves a v1 ciphertext to v2", rewrapped)
    dec = w.secrets.transit.decrypt_data(name="orders", ciphertext=ct1_v2, context=ctx)
    check(base64.b64decode(dec["data"]["plaintext"]) == b"4111 1111",
          "the rewrapped ciphertext decrypts to the same plaintext")
    for kind, bits in (("plaintext", 256), ("wrapped", 512), ("plaintext", 128)):
        dk = w.secrets.transit.generate_data_key(name="orders", key_type=kind, bits=bits,
                                                 context=ctx)["data"]
        opened = w.secrets.transit.decrypt_data(name="orders", ciphertext=dk["ciphertext"],
                                                context=ctx)["data"]["plaintext"]
        ok = len(base64.b64decode(opened)) == bits // 8
        if kind == "plaintext":
            ok = ok and dk["plaintext"] == opened
        else:
            ok = ok and "plaintext" not in dk
        check(ok and dk["ciphertext"].startswith("vault:v2:"),
              "hvac: generate_data_key %s %d bits, opened by decrypt" % (kind, bits), dk)
    status, payload = request(port, "POST", "/v1/transit/datakey/plaintext/orders",
                              {"bits": 100}, writer)
    check(status == 400 and b"bits must be 128, 256 or 512" in payload, "datakey bits=100: 400")
    # keyward's own tools open the Transit form; a prefix that lies about the version is refused.
    plain_ct = w.secrets.transit.encrypt_data(name="orders", plaintext=b64(b"no context"))
    plain_ct = plain_ct["data"]["ciphertext"]
    r = subprocess.run([cli, "open"], input=(plain_ct + "\n").encode(), capture_output=True,
                       env=env)
    check(r.returncode == 0 and r.stdout == b"no context", "keyward open reads vault:v2:",
          r.stderr)
    r = subprocess.run([cli, "open"], input=("vault:v1:" + plain_ct[9:]).encode(),
                       capture_output=True, env=env)
    check(r.returncode == 3 and b"its prefix says version 1 but the envelope names version 2"
          in r.stderr and r.stdout == b"", "a vault: prefix with the wrong version: exit 3",
          r.stderr)
    listed = c.secrets.transit.list_keys()["data"]["keys"]
    check(listed == ["orders"], "hvac: list_keys", listed)

    # hvac's key configuration, trim and delete, on a key of its own.
    c.secrets.transit.create_key(name="hv")
    w_hv = c.secrets.transit.encrypt_data(name="hv", plaintext=b64(b"v1 data"))
    c.secrets.transit.rotate_key(name="hv")
    # hvac itself refuses min_encryption_version <= min_decryption_version in one call.
    c.secrets.transit.update_key_configuration(name="hv", min_encryption_version=2)
    conf_hv = c.secrets.transit.update_key_configuration(
        name="hv", min_decryption_version=2, deletion_allowed=True)
    check(conf_hv["data"]["min_decryption_version"] == 2 and
          conf_hv["data"]["deletion_allowed"] is True,
          "hvac: update_key_configuration", conf_hv)
    try:
        c.secrets.transit.decrypt_data(name="hv", ciphertext=w_hv["data"]["ciphertext"])
        check(False, "hvac: a v1 ciphertext below min_decryption_version must be refused")
    except hvac.exceptions.InvalidRequest as e:
        check("disallowed by policy (too old)" in str(e),
              "hvac: decrypt below the window is 400 too old", e)
    trimmed = c.secrets.transit.trim_key(name="hv", min_version=2)
    check(sorted(trimmed["data"]["keys"]) == ["2"], "hvac: trim_key leaves v2", trimmed)
    c.secrets.transit.delete_key(name="hv")
    try:
        c.secrets.transit.read_key(name="hv")
        check(False, "hvac: a deleted key must be gone")
    except hvac.exceptions.InvalidPath:
        check(True, "hvac: delete_key, then read_key: 404")

    # Batch: results in order, references echoed, a bad item fails alone (HTTP 400).
    try:
        w.secrets.transit.encrypt_data(
            name="orders", plaintext="",
            batch_input=[{"plaintext": b64(b"a"), "reference": "r1"},
                         {"plaintext": "!!", "reference": "r2"},
                         {"plaintext": b64(b"c"), "reference": "r3"}])
        check(False, "a batch with a bad item answers 400")
    except hvac.exceptions.InvalidRequest as e:
        results = json.loads(str(e).split(", on post")[0])["data"]["batch_results"]
        check([r.get("reference") for r in results] == ["r1", "r2", "r3"] and
              "ciphertext" in results[0] and "error" in results[1] and
              "ciphertext" not in results[1] and "ciphertext" in results[2],
              "batch: in order, references echoed, only the bad item failed", results)

    # node-vault 0.12.0 (npm, installed by scripts/test under build/node-clients).
    node_modules = os.environ.get("KEYWARD_NODE_MODULES", "")
    node_token = new_token("node-app", ("admin", "keyring:nv"), ("writer", "keyring:nv"),
                           ("admin", "*"))
    if not os.path.isfile(os.path.join(node_modules, "node-vault", "package.json")):
        check(False, "node-vault is installed (scripts/test runs scripts/install-node-clients)",
              node_modules)
    else:
        r = subprocess.run(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "node_vault_client.js"), url, node_token],
                           capture_output=True, text=True, timeout=120,
                           env=dict(env, NODE_PATH=node_modules))
        print(r.stdout, end="")
        check(r.returncode == 0 and r.stdout.endswith("node-vault: 0 failed\n"),
              "node-vault 0.12.0 against keywardd", r.stderr[-2000:])

    # Roles: a reader cannot encrypt; a writer cannot create keys.
    rd = hvac.Client(url=url, token=reader)
    try:
        rd.secrets.transit.encrypt_data(name="orders", plaintext=b64(b"x"))
        check(False, "a reader must not encrypt")
    except hvac.exceptions.Forbidden as e:
        check("permission denied" in str(e), "a token without writer: 403 permission denied")
    try:
        w.secrets.transit.create_key(name="other")
        check(False, "a writer must not create keys")
    except hvac.exceptions.Forbidden:
        check(True, "a token without admin cannot create a key: 403")

    # Bad input, by raw HTTP.
    for body, what in [(b"{", "malformed JSON"), (b"[1,2]", "a JSON array body"),
                       ({"plaintext": 5}, "plaintext of the wrong type"),
                       ({"plaintext": "not base64!"}, "plaintext that is not base64")]:
        status, payload = request(port, "POST", "/v1/transit/encrypt/orders", body, writer)
        check(status == 400 and json.loads(payload)["errors"], what + ": 400 with errors",
              (status, payload))
    tampered = ct1[:-6] + ("A" if ct1[-6] != "A" else "B") + ct1[-5:]
    status, payload = request(port, "POST", "/v1/transit/decrypt/orders",
                              {"ciphertext": tampered, "context": ctx}, writer)
    check(status == 400 and b"plaintext" not in payload, "a tampered ciphertext: 400",
          (status, payload))
    status, _ = request(port, "POST", "/v1/transit/encrypt/nosuch", {"plaintext": b64(b"x")},
                        admin)
    check(status == 400, "encrypting to a key that does not exist is refused (no upsert)")
    status, _ = request(port, "GET", "/v1/transit/keys/nosuch", None, admin)
    check(status == 404, "reading a key that does not exist: 404")
    # A body over 32 MiB is answered 413 as soon as its Content-Length is read (the body is
    # never sent, as a client that waits for "100 Continue" would do).
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /v1/transit/encrypt/orders HTTP/1.1\r\nHost: x\r\nX-Vault-Token: " +
              writer.encode() + b"\r\nContent-Length: %d\r\n\r\n{" % (33 << 20))
    answer = s.recv(4096)
    s.close()
    check(answer.startswith(b"HTTP/1.1 413 "), "a 33 MiB body: 413", answer[:200])
    # partial_failure_response_code 204 would need a body-less answer: refused, 400 kept.
    status, payload = request(port, "POST", "/v1/transit/encrypt/orders",
                              {"batch_input": [{"plaintext": "!!"}],
                               "partial_failure_response_code": 204}, writer)
    check(status == 400 and b"batch_results" in payload,
          "partial_failure_response_code 204: answered 400 with the results", status)
    status, payload = request(port, "POST", "/v1/transit/encrypt/orders",
                              {"batch_input": [{"plaintext": "!!"}],
                               "partial_failure_response_code": 207}, writer)
    check(status == 207, "partial_failure_response_code 207 is used", status)
    # PUT is POST (Vault's Go client and `vault write` send PUT).
    status, payload = request(port, "PUT", "/v1/transit/encrypt/orders",
                              {"plaintext": b64(b"put")}, writer)
    check(status == 200 and b"vault:v" in payload, "PUT encrypt works as POST", payload)
    # HEAD: the headers of a GET and no body, and the connection stays usable.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("HEAD", "/v1/sys/health")
    head = conn.getresponse()
    head_body = head.read()
    conn.request("GET", "/v1/sys/health")
    after = conn.getresponse()
    check(head.status == 200 and head_body == b"" and int(head.getheader("Content-Length")) > 0
          and after.status == 200 and json.loads(after.read())["initialized"],
          "HEAD /v1/sys/health: no body, and the keep-alive connection goes on")
    conn.close()
    # A HEAD, then a malformed request on the same connection: the 400 carries its body (the
    # HEAD's "no body" must not stick to the connection).
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"HEAD /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n")
    head_answer = b""
    while b"\r\n\r\n" not in head_answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        head_answer += chunk
    s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    status, _, body, complete = Answers(s).next()
    s.close()
    check(head_answer.startswith(b"HTTP/1.1 200 ") and status == 400 and complete and
          b"malformed HTTP request" in body,
          "a malformed request after a HEAD is answered 400 with its body", (status, body))
    # A chunk-size line that never ends: cut off by the read buffer's cap, not grown forever.
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"POST /v1/transit/encrypt/orders HTTP/1.1\r\nHost: x\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n1;" + b"x" * (200 << 10))
    try:
        answer = s.recv(4096)
    except OSError:
        answer = b""
    s.close()
    check(answer.startswith(b"HTTP/1.1 431 "), "an endless chunk extension is cut off (431)",
          answer[:100])
    check(healthy(port), "still healthy after the bad input")

    # A slow client: headers never finished; closed at the header timeout (1 s here).
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /v1/sys/health HTTP/1.1\r\nHost: x\r\n")
    s.settimeout(10)
    start = time.monotonic()
    try:
        closed = s.recv(1) == b""
    except OSError:
        closed = True
    took = time.monotonic() - start
    s.close()
    check(closed and took < 5, "a slow client is cut off at the header timeout (%.1f s)" % took)

    connection_handling(port, unix_path, writer)

    # A flood: more connections than the cap, held open; the server keeps answering.
    flood = []
    for _ in range(200):
        try:
            flood.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    for f in flood:
        f.close()
    time.sleep(0.5)
    check(healthy(port), "healthy after a flood of %d connections" % len(flood))

    # A revoked token stops working within 5 s.
    token_id = keyward("token", "list").stdout.splitlines()
    writer_id = [l.split()[0] for l in token_id if " app created " in l][0]
    check(keyward("token", "revoke", writer_id).returncode == 0, "token revoke with the CLI")
    deadline = time.monotonic() + 5
    denied = False
    while time.monotonic() < deadline and not denied:
        status, _ = request(port, "POST", "/v1/transit/encrypt/orders", {"plaintext": b64(b"x")},
                            writer)
        denied = status == 403
        time.sleep(0.1)
    check(denied, "a token revoked with the CLI is refused within 5 s")

    # A running keywardd sees what the CLI changes, within 5 s.
    def within(probe, done):
        deadline = time.monotonic() + 5
        while True:
            result = probe()
            if done(result) or time.monotonic() > deadline:
                return result
            time.sleep(0.1)

    def encrypt_version():
        status, payload = request(port, "POST", "/v1/transit/encrypt/orders",
                                  {"plaintext": b64(b"v")}, admin)
        if status != 200:
            return status, payload
        return status, json.loads(payload)["data"]["ciphertext"]

    check(keyward("keyring", "rotate", "orders").returncode == 0, "CLI: keyring rotate orders")
    status, ct_v3 = within(encrypt_version, lambda r: r[0] == 200 and r[1].startswith("vault:v3:"))
    check(status == 200 and ct_v3.startswith("vault:v3:"), "keywardd encrypts under v3 after a "
          "CLI rotate", ct_v3)
    check(keyward("keyring", "rollback", "orders").returncode == 0, "CLI: keyring rollback")
    status, ct = within(encrypt_version, lambda r: r[0] == 200 and r[1].startswith("vault:v2:"))
    check(status == 200 and ct.startswith("vault:v2:"), "keywardd encrypts under v2 after a CLI "
          "rollback", ct)
    check(keyward("keyring", "retire", "orders", "--version", "3").returncode == 0,
          "CLI: keyring retire orders --version 3")
    status, payload = within(
        lambda: request(port, "POST", "/v1/transit/decrypt/orders", {"ciphertext": ct_v3},
                        admin), lambda r: r[0] != 200)
    check(status == 400 and b"destroyed" in payload, "a v3 ciphertext is refused after the "
          "CLI retired v3", payload)
    check(keyward("keyring", "compromise", "orders", "--version", "2").returncode == 0,
          "CLI: keyring compromise orders --version 2")
    status, payload = within(encrypt_version, lambda r: r[0] != 200)
    check(status == 400 and b"has no active version" in payload,
          "keywardd stops encrypting under a version the CLI marked compromised", payload)
    newcomer = new_token("newcomer")
    status, _ = request(port, "GET", "/v1/transit/keys/orders", None, newcomer)
    check(status == 403, "a token whose principal has no grant: 403")
    check(keyward("access", "grant", "newcomer", "reader", "--on", "keyring:orders").returncode
          == 0, "CLI: access grant newcomer reader")
    status, _ = within(lambda: request(port, "GET", "/v1/transit/keys/orders", None, newcomer),
                       lambda r: r[0] == 200)
    check(status == 200, "the grant takes effect in keywardd within 5 s")

    # SIGTERM: drain and exit 0.
    start = time.monotonic()
    rc = server.stop()
    check(rc == 0 and time.monotonic() - start < 15, "SIGTERM: exit 0 (%.1f s)" %
          (time.monotonic() - start), server.log_text()[-2000:])
    log = server.log_text()
    check("POST /v1/transit/encrypt/orders 200" in log and " app\n" in log,
          "one log line per request with its principal")
    check(ct1[9:40] not in log and "4111" not in log, "no ciphertext or plaintext in the log")
    audit = keyward("audit", "list", "--operation", "seal").stdout
    check("owner as app seal keyring:orders ok" in audit, "the audit log names the principal",
          audit[-600:])
    check(keyward("audit", "verify").returncode == 0, "the audit log verifies")

    # Plain HTTP off loopback is refused at start-up.
    r = subprocess.run([daemon, "--config", conf, "--listen", "0.0.0.0:0"], capture_output=True,
                       env=env, text=True, timeout=60)
    check(r.returncode == 2 and "only loopback addresses and Unix sockets" in r.stderr and
          len(r.stderr.strip().splitlines()) == 1, "plain HTTP on 0.0.0.0 is refused", r.stderr)

    # TLS with a test CA.
    ca_key, ca_crt = os.path.join(tmp, "ca.key"), os.path.join(tmp, "ca.crt")
    key_path, csr, crt = (os.path.join(tmp, n) for n in ("server.key", "server.csr",
                                                          "server.crt"))
    ext = os.path.join(tmp, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName = IP:127.0.0.1\n")
    for args in (["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", ca_key, "-out", ca_crt, "-days", "2", "-subj",
                  "/CN=keyward test CA"],
                 ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", key_path, "-out", csr, "-subj", "/CN=127.0.0.1"],
                 ["x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key,
                  "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext]):
        subprocess.run(["openssl"] + args, capture_output=True, check=True)
    tls_server = Server(daemon, conf, env, ["tls_cert = " + crt, "tls_key = " + key_path,
                                            "service_scheduling = normal"],
                        listen="127.0.0.1:0")
    if tls_server.p.poll() is None:
        policies = service_testlib.thread_policies(tls_server.p.pid)
        check(len(policies) >= 6 and set(policies) == {os.sched_getscheduler(0)},
              "service_scheduling = normal leaves every thread under the policy it started with",
              policies)
    ctx_tls = ssl.create_default_context(cafile=ca_crt)
    check(tls_server.port is not None and healthy(tls_server.port, tls=ctx_tls),
          "TLS: health over https with the test CA", tls_server.log_text())
    if tls_server.port is not None:
        tc = hvac.Client(url="https://127.0.0.1:%d" % tls_server.port, token=admin,
                         verify=ca_crt)
        check(tc.is_authenticated(), "TLS: hvac authenticates over https")
        try:
            request(tls_server.port, "GET", "/v1/sys/health")
            check(False, "plain HTTP to the TLS port must fail")
        except (OSError, http.client.HTTPException):
            check(True, "plain HTTP to the TLS port gets no answer")
    check(tls_server.stop() == 0, "TLS server: SIGTERM, exit 0")

    # A policy chosen by whoever starts keywardd (chrt here, CPUSchedulingPolicy= in systemd)
    # is kept under the default service_scheduling = batch, and said so in the log.
    idle_server = Server(daemon, conf, env, [], prefix=["chrt", "--idle", "0"])
    if idle_server.port is not None:
        policies = service_testlib.thread_policies(idle_server.p.pid)
        check(len(policies) >= 6 and set(policies) == {5},
              "keywardd started under SCHED_IDLE keeps it in every thread", policies)
    check("keywardd: started under SCHED_IDLE, which stays" in idle_server.log_text(),
          "keywardd names the policy it keeps", idle_server.log_text())
    check(idle_server.stop() == 0, "SCHED_IDLE server: SIGTERM, exit 0")

    print("%d failed" % failed())
    return 1 if failed() else 0


if __name__ == "__main__":
    try:
        code = main()
    finally:
        stop_all()
    sys.exit(code)
