#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when a door (the CLI, the C API, the OpenSSL provider) includes an internal header.

A door may include the installed API (<keyward/...>, "keyward/..."), system headers, and
its own headers (a file in its own directory). Anything else ("core/...", "p11/...",
"store/...", "crypto/...") is a back door into the library: each new door would need the same
one. The linker catches most of them too (the CLI links libkeyward.so, whose internal symbols
are hidden), but not an inline function or a constant; this check catches every one.

usage: door_includes.py SOURCE_ROOT
"""
import pathlib
import re
import sys

DOORS = ["src/cli", "src/capi", "provider", "src/service"]
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.MULTILINE)


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    bad = []
    checked = 0
    for door in DOORS:
        directory = root / door
        if not directory.is_dir():
            continue
        for path in sorted(directory.rglob("*")):
            if path.suffix not in {".c", ".cpp", ".h", ".hpp"}:
                continue
            checked += 1
            for name in INCLUDE.findall(path.read_text(encoding="utf-8")):
                if name.startswith("keyward/") or (path.parent / name).is_file():
                    continue
                bad.append(f"{path.relative_to(root)}: #include \"{name}\"")
    for line in bad:
        print(f"internal header in a door: {line}")
    print(f"{checked} door files checked, {len(bad)} internal includes")
    return 1 if bad or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
