// SPDX-License-Identifier: Apache-2.0
// keyward/setup.hpp over the PKCS#11 adapter and the SQLite store.
#include "keyward/setup.hpp"

#include "crypto/random.hpp"
#include "p11/init_token.hpp"
#include "p11/softhsm.hpp"
#include "store/sqlite_store.hpp"

namespace keyward::setup {

Result<SecretString> generate_pin() {
    static constexpr char alphabet[] = "abcdefghijkmnpqrstuvwxyz23456789";
    static_assert(sizeof(alphabet) - 1 == 32, "each random byte picks one of 32 letters");
    SecretBytes raw(20);
    KW_TRY_STATUS(crypto::random_bytes(raw));
    SecretString pin;
    for (auto b : raw) pin.push_back(alphabet[b & 31]);
    return pin;
}

std::optional<std::string> find_softhsm_module() {
    return p11::find_softhsm_module();
}

std::string softhsm_config_text(const std::filesystem::path& token_dir) {
    // Debian's SoftHSM has no db object store; the file store is its default and only choice.
    return "# SoftHSM configuration written by keyward init\n"
           "directories.tokendir = " +
           token_dir.string() +
           "\n"
           "objectstore.backend = file\n"
           "log.level = ERROR\n"
           "slots.removable = false\n";
}

Status init_token(const std::string& module_path, const std::string& softhsm2_conf,
                  const std::string& label, const SecretString& so_pin,
                  const SecretString& user_pin) {
    return p11::init_token(module_path, softhsm2_conf, label, so_pin, user_pin);
}

Status create_database(const std::filesystem::path& path) {
    KW_TRY(auto store, store::SqliteStore::open(path, store::Database::Mode::create_if_missing));
    return {};
}

}  // namespace keyward::setup
