// SPDX-License-Identifier: Apache-2.0
// Test fixture: a fresh SoftHSM token in this test process's own token directory under the
// build tree (never the system token). SOFTHSM2_CONF is process-global and SoftHSM reads it once
// per C_Initialize, so a process has one configuration and one token directory, and every
// SoftHsmToken is another token (its own label) in that directory.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "keyward/bytes.hpp"
#include "p11/p11_hsm.hpp"

namespace keyward::test {

class SoftHsmToken {
  public:
    /// Initialises a new token labelled "<label_prefix>-<n>" (n counts tokens in this process)
    /// with so_pin() and user_pin(). Throws std::runtime_error (failing the test) when it cannot.
    explicit SoftHsmToken(const std::string& label_prefix = "kw-test");

    const std::string& module_path() const noexcept { return module_path_; }
    /// The process's softhsm2.conf, written from $KEYWARD_SOFTHSM_CONF_IN.
    const std::string& conf_path() const noexcept { return conf_path_; }
    const std::filesystem::path& token_dir() const noexcept { return token_dir_; }
    const std::string& label() const noexcept { return label_; }
    const SecretString& so_pin() const noexcept { return so_pin_; }
    const SecretString& user_pin() const noexcept { return user_pin_; }

    /// Options that connect to this token with the user PIN.
    p11::ConnectOptions options() const;

    /// P11Hsm::connect(options()) with max_sessions; throws with the error message on failure.
    std::unique_ptr<p11::P11Hsm> connect(std::size_t max_sessions = 0) const;
    /// connect() without the KEK attribute check, for tests that import KEKs of known value
    /// (test vectors): keyward itself never connects this way.
    std::unique_ptr<p11::P11Hsm> connect_with_known_keks() const;

  private:
    std::string module_path_;
    std::string conf_path_;
    std::filesystem::path token_dir_;
    std::string label_;
    SecretString so_pin_;
    SecretString user_pin_;
};

}  // namespace keyward::test
