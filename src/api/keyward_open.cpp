// SPDX-License-Identifier: Apache-2.0
// The composition root: the only code that knows the PKCS#11 adapter and the SQLite store.
// It lives beside the doors, outside src/core, so that the linker keeps the domain free of
// both (src/meson.build checks that base, crypto and core link on their own).
#include "keyward/keyward.hpp"

#include <syslog.h>

#include "core/assemble.hpp"
#include "core/debug_channels.hpp"
#include "core/keyward_impl.hpp"
#include "p11/call_trace.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/pin_source.hpp"
#include "store/sqlite_store.hpp"
#include "store/sqlite_trace.hpp"

namespace keyward {

Result<std::unique_ptr<Keyward>> Keyward::open(const Config& config, const OpenOptions& open) {
    // Before the PIN is asked for: a bad word is exit 2 naming it, with no prompt first.
    auto quirks = p11::parse_quirks(config.quirks);
    if (!quirks && !config.source.empty()) return quirks.error().context(config.source.string());
    KW_TRY(auto debug, core::parse_debug_channels(config.debug));
    if (debug.p11) p11::enable_call_trace();  // process-wide, as KEYWARD_DEBUG=p11
    if (debug.sql) store::enable_sql_trace();
    KW_TRY(auto pin, p11::read_pin(config.pin_source));
    p11::ConnectOptions options;
    options.module_path = config.module;
    options.token = config.token;
    options.pin = std::move(pin);
    options.softhsm2_conf = config.softhsm2_conf.string();
    if (config.reconnect_after_objects) {
        options.reconnect_after_objects = static_cast<std::size_t>(*config.reconnect_after_objects);
    }
    KW_TRY(options.quirks, std::move(quirks));
    options.never_finalize = open.keep_module_loaded;
    auto connected = p11::P11Hsm::connect(std::move(options));
    if (!connected.ok()) {
        // The token cannot MAC an entry it never reached, and the database is not touched:
        // the system log is where this attempt is recorded (docs/AUDIT.md). Never the PIN.
        syslog(LOG_AUTHPRIV | LOG_WARNING, "keyward: %s could not use token \"%s\": %s (%s)",
               (open.act_as.empty() || !valid_principal_name(open.act_as) ? config.principal
                                                                          : open.act_as)
                   .c_str(),
               config.token.c_str(), connected.error().message().c_str(),
               std::string(errc_name(connected.error().code())).c_str());
        return connected.error();
    }
    auto hsm = std::move(connected).value();
    std::string mechanism = hsm->suite1_mechanism_name();
    auto token_quirks = hsm->quirks().names();
    store::Database::Options db_options;
    db_options.busy_timeout = std::chrono::milliseconds(config.busy_timeout_ms);
    KW_TRY(auto store, store::SqliteStore::open(config.database,
                                                store::Database::Mode::open_existing, db_options));
    // The audit log appends on its own connection: a group commit's fsync then never holds the
    // data path's connection (docs/PERFORMANCE.md, "Audit cost").
    KW_TRY(auto audit_store,
           store::SqliteStore::open(config.database, store::Database::Mode::open_existing,
                                    db_options));
    KW_TRY(auto handle,
           core::assemble(std::move(hsm), std::move(store), config, open, std::move(audit_store)));
    handle->impl_->token.suite1_mechanism = std::move(mechanism);
    handle->impl_->token.quirks = std::move(token_quirks);
    return handle;
}

}  // namespace keyward
