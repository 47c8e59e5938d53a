// SPDX-License-Identifier: Apache-2.0
// The SoftHSM token fixture: one token directory and softhsm2.conf per test process, written
// on first use from the template $KEYWARD_SOFTHSM_CONF_IN (@TOKENDIR@ replaced).
#include "support/softhsm_token.hpp"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include "p11/init_token.hpp"
#include "p11/softhsm.hpp"
#include "support/test_env.hpp"

namespace keyward::test {

namespace fs = std::filesystem;

namespace {

struct ProcessTokenDir {
    std::string conf_path;
    fs::path token_dir;
};

const ProcessTokenDir& process_token_dir() {
    static std::once_flag once;
    static ProcessTokenDir dir;
    std::call_once(once, [] {
        const char* in = std::getenv("KEYWARD_SOFTHSM_CONF_IN");
        if (in == nullptr || *in == '\0') {
            throw std::runtime_error(
                "KEYWARD_SOFTHSM_CONF_IN is not set; run the tests through "
                "meson test");
        }
        std::string conf = read_file(in);
        fs::path base = fresh_dir("softhsm");
        dir.token_dir = base / "tokens";
        fs::create_directories(dir.token_dir);
        const std::string marker = "@TOKENDIR@";
        for (auto pos = conf.find(marker); pos != std::string::npos; pos = conf.find(marker)) {
            conf.replace(pos, marker.size(), dir.token_dir.string());
        }
        dir.conf_path = (base / "softhsm2.conf").string();
        std::ofstream out(dir.conf_path, std::ios::binary | std::ios::trunc);
        out << conf;
        if (!out.flush()) throw std::runtime_error("cannot write " + dir.conf_path);
    });
    return dir;
}

SecretString secret(std::string_view s) {
    SecretString out;
    out.reserve(64);
    out.assign(s);
    return out;
}

}  // namespace

SoftHsmToken::SoftHsmToken(const std::string& label_prefix)
    : so_pin_(secret("kw-so-pin-0000")), user_pin_(secret("kw-user-pin-1111")) {
    static std::atomic<int> counter{0};
    auto module = p11::find_softhsm_module();
    if (!module) throw std::runtime_error("no SoftHSM module found");
    module_path_ = *module;
    const auto& dir = process_token_dir();
    conf_path_ = dir.conf_path;
    token_dir_ = dir.token_dir;
    label_ = label_prefix + "-" + std::to_string(counter.fetch_add(1) + 1);
    auto status = p11::init_token(module_path_, conf_path_, label_, so_pin_, user_pin_);
    if (!status) {
        throw std::runtime_error("init_token(" + label_ + "): " + status.error().message());
    }
}

p11::ConnectOptions SoftHsmToken::options() const {
    p11::ConnectOptions o;
    o.module_path = module_path_;
    o.token = label_;
    o.pin = user_pin_;
    o.softhsm2_conf = conf_path_;
    return o;
}

std::unique_ptr<p11::P11Hsm> SoftHsmToken::connect_with_known_keks() const {
    auto o = options();
    o.check_kek_attributes = false;
    auto hsm = p11::P11Hsm::connect(std::move(o));
    if (!hsm) {
        throw std::runtime_error("connect(" + label_ + "): " + hsm.error().message());
    }
    return std::move(hsm).value();
}

std::unique_ptr<p11::P11Hsm> SoftHsmToken::connect(std::size_t max_sessions) const {
    auto o = options();
    o.max_sessions = max_sessions;
    auto hsm = p11::P11Hsm::connect(std::move(o));
    if (!hsm) {
        throw std::runtime_error("connect(" + label_ + "): " + hsm.error().message());
    }
    return std::move(hsm).value();
}

}  // namespace keyward::test
