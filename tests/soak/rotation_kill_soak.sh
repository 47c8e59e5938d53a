#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Nightly or manual soak: the rotation SIGKILL test of tests/cli/cli_rotation_test.cpp with many
# more kills than the suite's 20 (about 3 s per kill on 2 cores).
#   tests/soak/rotation_kill_soak.sh [KILLS] [BUILD_DIR]     defaults: 200, build
# KEYWARD_SOAK_SEED=N draws the same kill points as the run that printed "seed N". The build
# directory must have been configured with -Dtests=enabled; the binaries are rebuilt first.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
kills="${1:-200}"
build="${2:-$root/build}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
if [ ! -f "$build/build.ninja" ]; then
    echo "rotation_kill_soak: $build is not a meson build directory (meson setup $build -Dtests=enabled)" >&2
    exit 2
fi
export KEYWARD_SOAK_KILLS="$kills"
# meson test sets the environment the suite uses; no timeout for a long soak.
exec meson test -C "$build" --suite cli --timeout-multiplier 0 --print-errorlogs -v \
    --test-args '"SIGKILL at random points*" --durations yes' \
    'keyward rotation end to end (SoftHSM, SIGKILL soak)'
