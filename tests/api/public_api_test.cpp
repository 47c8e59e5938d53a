// SPDX-License-Identifier: Apache-2.0
// Links against libkeyward.so alone, with only the installed headers, as a user's program
// would: proves the public API is exported and usable from outside the build's internals.
#include <keyward/keyward.hpp>

#include <cstdio>
#include <cstring>

int main() {
    int failures = 0;
    auto expect = [&](bool ok, const char* what) {
        if (!ok) {
            std::fprintf(stderr, "FAILED: %s\n", what);
            ++failures;
        }
    };
    expect(keyward::exit_code(keyward::Errc::auth_failed) == 3, "exit_code(auth_failed) == 3");
    expect(keyward::errc_name(keyward::Errc::hsm_unavailable) == "hsm_unavailable", "errc_name");
    expect(keyward::is_valid_keyring_name("wallets"), "keyring name grammar");
    expect(keyward::kek_label("wallets", 3) == "keyward:wallets:v3", "kek_label");
    auto cfg = keyward::load_config("/nonexistent/keyward.conf");
    expect(!cfg.ok() && cfg.error().exit_code() == 2, "load_config of a missing file is exit 2");
    keyward::Config bad;
    bad.module = "/nonexistent/module.so";
    bad.token = "t";
    bad.pin_source = "env:KEYWARD_API_TEST_PIN";
    bad.database = "/nonexistent/k.db";
    auto kw = keyward::Keyward::open(bad);
    expect(!kw.ok(), "Keyward::open with a bad config fails");
    keyward::SecretBytes secret(16, 0x42);
    keyward::secure_wipe(secret.data(), secret.size());
    expect(secret[0] == 0 && secret[15] == 0, "secure_wipe");
    std::printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}
