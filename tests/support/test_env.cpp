// SPDX-License-Identifier: Apache-2.0
// Test inputs and scratch directories, from the environment meson sets for every test.
#include "support/test_env.hpp"

#include "p11/softhsm.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace keyward::test {

namespace fs = std::filesystem;

fs::path vectors_dir() {
    // An override that does not exist is an error, not a reason to fall back: a run that was
    // asked to use other vectors must not pass on the repository's own without saying so.
    for (const char* var : {"KEYWARD_VECTORS", "KEYWARD_DEFAULT_VECTORS"}) {
        const char* v = std::getenv(var);
        if (v == nullptr || *v == '\0') continue;
        if (!fs::is_directory(v)) {
            throw std::runtime_error(std::string(var) + "=" + v + " is not a directory");
        }
        return fs::path(v);
    }
    throw std::runtime_error(
        "KEYWARD_DEFAULT_VECTORS is not set: run the tests through meson test (or set "
        "KEYWARD_VECTORS to a copy of tests/vectors)");
}

fs::path fresh_dir(const std::string& name) {
    static std::atomic<int> counter{0};
    const char* tmp = std::getenv("KEYWARD_TEST_TMP");
    fs::path base = tmp != nullptr ? fs::path(tmp) : fs::temp_directory_path() / "keyward-tests";
    fs::path dir =
        base / (name + "-" + std::to_string(getpid()) + "-" + std::to_string(counter.fetch_add(1)));
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
    return dir;
}

std::optional<std::string> softhsm_missing() {
    if (!p11::find_softhsm_module()) {
        return std::string(
            "SoftHSM not found: install softhsm2 or configure "
            "-Dsofthsm_module=/path/to/libsofthsm2.so");
    }
    const char* conf_in = std::getenv("KEYWARD_SOFTHSM_CONF_IN");
    if (conf_in == nullptr || *conf_in == '\0') {
        return std::string("KEYWARD_SOFTHSM_CONF_IN is not set: run the tests through meson test");
    }
    return std::nullopt;
}

Bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        throw std::invalid_argument("bad hex digit");
    };
    if (hex.size() % 2 != 0) throw std::invalid_argument("odd hex length");
    Bytes out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    }
    return out;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
}

bool same(const std::string& a, const std::string& b) {
    return a == b;
}

}  // namespace keyward::test
