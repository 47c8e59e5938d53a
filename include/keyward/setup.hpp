// SPDX-License-Identifier: Apache-2.0
// Making a setup from nothing: a SoftHSM token, its PINs and a database bound to it. This is
// what `keyward init` does (docs/CLI.md); embedders and test fixtures call the same functions.
// Binding the database to the token is Keyward::open's first open of it.
#pragma once

#include "keyward/export.hpp"

#include <filesystem>
#include <optional>
#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::setup {

/// A new PIN: 20 characters of a 32-letter alphabet (100 bits from the OS random generator),
/// none that a shell or a config file treats specially.
KEYWARD_API Result<SecretString> generate_pin();

/// SoftHSMv2's PKCS#11 module on this machine: the one configured at build time
/// (-Dsofthsm_module) when set, else the first of Debian's and /usr/local's usual paths that
/// exists; nullopt when there is none.
KEYWARD_API std::optional<std::string> find_softhsm_module();

/// The softhsm2.conf `keyward init --softhsm` writes: a file object store in token_dir,
/// errors-only logging, fixed slots.
KEYWARD_API std::string softhsm_config_text(const std::filesystem::path& token_dir);

/// Initialises the first slot holding an uninitialised token (SoftHSM always offers one) with
/// label and so_pin, then sets user_pin. softhsm2_conf, when non-empty, is exported as
/// SOFTHSM2_CONF before the module loads. Errors: already_exists (a token with that label
/// exists), hsm_unavailable (no module or no free slot), bad_config (a label over 32 bytes or
/// an empty PIN), hsm_error otherwise.
KEYWARD_API Status init_token(const std::string& module_path, const std::string& softhsm2_conf,
                              const std::string& label, const SecretString& so_pin,
                              const SecretString& user_pin);

/// Creates an empty keyward database (mode 0600, the current schema) at path, or opens and
/// migrates an existing one. It is bound to a token by the first Keyward::open.
KEYWARD_API Status create_database(const std::filesystem::path& path);

}  // namespace keyward::setup
