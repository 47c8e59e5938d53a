#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Manual measurement: ROUNDS rounds of PROCS keyward processes started at once against a fresh
# `keyward init --softhsm` setup. MODE put (default): each puts a record into a namespace that
# is new in that round, so a keyring (a KEK) is created while the others start and log in.
# MODE get: each reads one existing record, so only start-ups and logins overlap.
# Prints how many processes failed, and their error lines.
#   tests/soak/concurrent_start.sh [KEYWARD_BINARY] [ROUNDS] [PROCS] [MODE]
# defaults: build/src/cli/keyward, 30, 8, put. Not part of the suite: it measures, it does not
# assert (exit 1 when any process failed).
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kw="${1:-$root/build/src/cli/keyward}"
rounds="${2:-30}"
procs="${3:-8}"
mode="${4:-put}"
dir="$(mktemp -d "${TMPDIR:-/tmp}/keyward-concurrent.XXXXXX")"
trap 'rm -rf "$dir"' EXIT
KEYWARD_PIN= "$kw" init --softhsm "$dir/setup" >/dev/null || { echo "init failed" >&2; exit 2; }
export KEYWARD_CONFIG="$dir/setup/keyward.conf"
if [ "$mode" = get ]; then
    printf 'v' | "$kw" put race/r --kind custom_secret >/dev/null || exit 2
fi
failed=0
for ((round = 1; round <= rounds; ++round)); do
    pids=()
    for ((i = 1; i <= procs; ++i)); do
        if [ "$mode" = get ]; then
            "$kw" get race/r >"$dir/out.$round.$i" 2>"$dir/err.$round.$i" </dev/null &
        else
            printf 'v%d' "$i" | "$kw" put "race$round/r$i" --kind custom_secret \
                >"$dir/out.$round.$i" 2>"$dir/err.$round.$i" &
        fi
        pids+=($!)
    done
    for ((i = 1; i <= procs; ++i)); do
        if ! wait "${pids[$((i - 1))]}"; then
            failed=$((failed + 1))
            echo "round $round process $i: $(head -c 300 "$dir/err.$round.$i")"
        fi
    done
done
echo "failed: $failed of $((rounds * procs)) processes ($rounds rounds of $procs, $mode)"
[ "$failed" -eq 0 ]
