# SPDX-License-Identifier: Apache-2.0
# The C API from Python through ctypes, loading the built libkeyward.so by path: a fresh SoftHSM
# setup, then seal/open, wrong context, data keys. Exit 0 pass, 1 fail, 77 skip (no SoftHSM).
import ctypes
import json
import os
import shutil
import subprocess
import sys

SOFTHSM = ["/usr/lib/softhsm/libsofthsm2.so", "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"]

u8p = ctypes.POINTER(ctypes.c_uint8)
size_p = ctypes.POINTER(ctypes.c_size_t)


def load(path):
    lib = ctypes.CDLL(path)
    lib.keyward_abi_version.restype = ctypes.c_int
    lib.keyward_abi_version.argtypes = []
    lib.keyward_open.restype = ctypes.c_int
    lib.keyward_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.keyward_close.restype = None
    lib.keyward_close.argtypes = [ctypes.c_void_p]
    lib.keyward_seal.restype = ctypes.c_int
    lib.keyward_seal.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                 ctypes.POINTER(u8p), size_p]
    lib.keyward_open_envelope.restype = ctypes.c_int
    lib.keyward_open_envelope.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.c_char_p, ctypes.c_size_t,
                                          ctypes.POINTER(u8p), size_p]
    lib.keyward_datakey.restype = ctypes.c_int
    lib.keyward_datakey.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                    ctypes.POINTER(u8p), size_p, ctypes.POINTER(u8p), size_p]
    lib.keyward_datakey_decrypt.restype = ctypes.c_int
    lib.keyward_datakey_decrypt.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                                            ctypes.POINTER(u8p), size_p]
    lib.keyward_put.restype = ctypes.c_int
    lib.keyward_put.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p,
                                ctypes.POINTER(ctypes.c_uint32)]
    lib.keyward_get.restype = ctypes.c_int
    lib.keyward_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32,
                                ctypes.POINTER(u8p), size_p]
    lib.keyward_list.restype = ctypes.c_int
    lib.keyward_list.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p,
                                 ctypes.POINTER(ctypes.c_void_p), size_p]
    lib.keyward_free.restype = None
    lib.keyward_free.argtypes = [ctypes.c_void_p]
    lib.keyward_free_secret.restype = None
    lib.keyward_free_secret.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.keyward_last_error.restype = ctypes.c_char_p
    lib.keyward_last_error.argtypes = [ctypes.c_void_p]
    lib.keyward_open_error.restype = ctypes.c_char_p
    lib.keyward_open_error.argtypes = []
    lib.keyward_error_name.restype = ctypes.c_char_p
    lib.keyward_error_name.argtypes = [ctypes.c_int]
    return lib


def take(lib, ptr, n, secret):
    """Copies a returned buffer into bytes and releases it (wiping secrets)."""
    data = ctypes.string_at(ptr, n.value)
    if secret:
        lib.keyward_free_secret(ptr, n)
    else:
        lib.keyward_free(ptr)
    return data


def main():
    if not any(os.path.exists(p) for p in SOFTHSM):
        print("SKIP: SoftHSM (libsofthsm2.so) is not installed")
        return 77
    libpath, cli, tmp = sys.argv[1], os.environ["KEYWARD_CLI"], os.environ["KEYWARD_CAPI_TMP"]
    failures = []

    def check(ok, what):
        if not ok:
            print("FAILED:", what, file=sys.stderr)
            failures.append(what)

    lib = load(libpath)
    check(lib.keyward_abi_version() == 1, "ABI version 1")

    handle = ctypes.c_void_p()
    check(lib.keyward_open(b"/nonexistent/keyward.conf", ctypes.byref(handle)) == 2,
          "missing config is 2")
    check(len(lib.keyward_open_error()) > 0, "open error has a message")

    d = os.path.join(tmp, "tmp-capi-py-%d" % os.getpid())
    shutil.rmtree(d, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k not in ("KEYWARD_PIN", "KEYWARD_CONFIG")}
    subprocess.run([cli, "init", "--softhsm", d], env=env, check=True, stdout=subprocess.DEVNULL)
    conf = os.path.join(d, "keyward.conf")
    env["KEYWARD_CONFIG"] = conf
    subprocess.run([cli, "keyring", "create", "py"], env=env, check=True,
                   stdout=subprocess.DEVNULL)

    rc = lib.keyward_open(conf.encode(), ctypes.byref(handle))
    if rc != 0:
        print("keyward_open:", rc, lib.keyward_open_error().decode(), file=sys.stderr)
        return 1

    pt, ctx = b"attack at dawn", b"record:py/test#1"
    out, out_len = u8p(), ctypes.c_size_t()
    rc = lib.keyward_seal(handle, b"py", pt, len(pt), ctx, len(ctx), ctypes.byref(out),
                          ctypes.byref(out_len))
    check(rc == 0, "seal is 0")
    envelope = take(lib, out, out_len, secret=False)

    rc = lib.keyward_open_envelope(handle, envelope, len(envelope), ctx, len(ctx),
                                   ctypes.byref(out), ctypes.byref(out_len))
    check(rc == 0, "open is 0")
    if rc == 0:
        check(take(lib, out, out_len, secret=True) == pt, "round trip")

    rc = lib.keyward_open_envelope(handle, envelope, len(envelope), b"wrong", 5,
                                   ctypes.byref(out), ctypes.byref(out_len))
    check(rc == 3, "wrong context is 3")
    check(b"authentication failed" in lib.keyward_last_error(handle), "auth message")
    check(lib.keyward_error_name(rc) == b"auth_failed", "error name")
    check(not out and out_len.value == 0, "outputs cleared on failure")

    rc = lib.keyward_seal(handle, b"nope", pt, len(pt), None, 0, ctypes.byref(out),
                          ctypes.byref(out_len))
    check(rc == 4, "unknown keyring is 4")
    rc = lib.keyward_seal(None, b"py", pt, len(pt), None, 0, ctypes.byref(out),
                          ctypes.byref(out_len))
    check(rc == 2, "NULL handle is 2")

    key, key_len, blob, blob_len = u8p(), ctypes.c_size_t(), u8p(), ctypes.c_size_t()
    rc = lib.keyward_datakey(handle, b"py", 32, ctypes.byref(key), ctypes.byref(key_len),
                             ctypes.byref(blob), ctypes.byref(blob_len))
    check(rc == 0 and key_len.value == 32, "datakey")
    if rc == 0:
        k = take(lib, key, key_len, secret=True)
        b = take(lib, blob, blob_len, secret=False)
        rc = lib.keyward_datakey_decrypt(handle, b, len(b), ctypes.byref(key),
                                         ctypes.byref(key_len))
        check(rc == 0 and take(lib, key, key_len, secret=True) == k, "datakey round trip")

    # Records: what an integration service in Python does with OAuth tokens per tenant.
    version = ctypes.c_uint32()
    for token in (b"ya29.first", b"ya29.second"):
        rc = lib.keyward_put(handle, b"tenant-a/google/access", b"oauth_access_token", token,
                             len(token), b"2031-06-01T12:00:00+02:00", ctypes.byref(version))
        check(rc == 0, "put is 0")
    check(version.value == 2, "second put is version 2")
    rc = lib.keyward_get(handle, b"tenant-a/google/access", 1, ctypes.byref(out),
                         ctypes.byref(out_len))
    check(rc == 0 and take(lib, out, out_len, secret=True) == b"ya29.first", "get version 1")
    rc = lib.keyward_get(handle, b"tenant-a/google/access", 0, ctypes.byref(out),
                         ctypes.byref(out_len))
    check(rc == 0 and take(lib, out, out_len, secret=True) == b"ya29.second", "get latest")
    doc, doc_len = ctypes.c_void_p(), ctypes.c_size_t()
    rc = lib.keyward_list(handle, b"tenant-a", None, ctypes.byref(doc), ctypes.byref(doc_len))
    check(rc == 0, "list is 0")
    if rc == 0:
        text = ctypes.string_at(doc, doc_len.value)
        lib.keyward_free(doc)
        records = json.loads(text)["records"]
        check([r["record"] for r in records] == ["tenant-a/google/access"], "list names it")
        check(records[0]["latest"] == 2 and records[0]["kind"] == "oauth_access_token",
              "list metadata")
        check(records[0]["expires_at"] == "2031-06-01T10:00:00Z", "expiry normalised to UTC")
        check(records[0]["rotation"] is None, "access tokens have no rotation policy")
        check(b"ya29" not in text, "list never holds a value")
    rc = lib.keyward_get(handle, b"tenant-a/none", 0, ctypes.byref(out), ctypes.byref(out_len))
    check(rc == 4 and not out, "unknown record is 4")
    rc = lib.keyward_put(handle, b"tenant-a/x", b"nope", b"v", 1, None, None)
    check(rc == 2 and b"unknown kind" in lib.keyward_last_error(handle), "unknown kind is 2")

    lib.keyward_close(handle)
    if not failures:
        shutil.rmtree(d, ignore_errors=True)
    print("%d failed" % len(failures))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
