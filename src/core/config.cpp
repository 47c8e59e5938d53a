// SPDX-License-Identifier: Apache-2.0
// Config file reading, writing and lookup (see keyward/config.hpp).
#include "keyward/config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/debug_channels.hpp"

namespace keyward {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
    const char* ws = " \t\r";
    auto b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    auto e = s.find_last_not_of(ws);
    return s.substr(b, e - b + 1);
}

Error bad(const fs::path& path, int line, const std::string& what) {
    return Error(Errc::bad_config, path.string() + ":" + std::to_string(line) + ": " + what);
}

Result<std::uint64_t> parse_count(const fs::path& path, int line, const std::string& key,
                                  const std::string& value) {
    // Digits only: std::stoull would accept "-1" and wrap it to 2^64-1.
    bool digits = !value.empty() && value.size() <= 19 &&
                  value.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
        auto n = std::stoull(value);
        if (n > 0) return static_cast<std::uint64_t>(n);
    }
    return bad(path, line, key + " must be a positive whole number, not \"" + value + "\"");
}

// Up to a day: a budget longer than that is a mistake, and the milliseconds must fit the
// arithmetic of the busy handler.
Result<std::uint32_t> parse_busy_timeout(const fs::path& path, int line, const std::string& value) {
    constexpr std::uint64_t kMax = 86'400'000;
    if (value == "0") return std::uint32_t{0};
    auto n = parse_count(path, line, "busy_timeout_ms", value);
    if (n.ok() && *n <= kMax) return static_cast<std::uint32_t>(*n);
    const std::string what =
        "busy_timeout_ms must be a whole number of milliseconds from 0 to 86400000, not \"" +
        value + "\"";
    return bad(path, line, what);
}

Status check_pin_source(const fs::path& path, int line, const std::string& value) {
    if (value == "prompt" || (value.rfind("env:", 0) == 0 && value.size() > 4) ||
        (value.rfind("file:", 0) == 0 && value.size() > 5)) {
        return {};
    }
    return bad(path, line,
               "pin must be env:VAR, file:PATH or prompt (a PIN itself is never "
               "written in the config)");
}

}  // namespace

Result<Config> load_config(const fs::path& path) {
    std::ifstream in(path);
    if (!in) {
        return Error(Errc::bad_config, "cannot read config " + path.string() +
                                           " (run keyward init, or pass --config FILE)");
    }
    Config cfg;
    cfg.source = path;
    const fs::path base = path.has_parent_path() ? path.parent_path() : fs::path(".");
    auto resolve = [&](const std::string& v) {
        return fs::path(v).is_absolute() ? fs::path(v) : base / v;
    };
    std::string raw;
    int line = 0;
    bool seen_pin = false;
    while (std::getline(in, raw)) {
        ++line;
        std::string text = trim(raw);
        if (text.empty() || text[0] == '#') continue;
        auto eq = text.find('=');
        if (eq == std::string::npos) return bad(path, line, "expected key = value");
        std::string key = trim(text.substr(0, eq));
        std::string value = trim(text.substr(eq + 1));
        if (value.empty()) return bad(path, line, key + " has no value");
        if (key == "module") {
            cfg.module = resolve(value).string();
        } else if (key == "token") {
            cfg.token = value;
        } else if (key == "pin") {
            KW_TRY_STATUS(check_pin_source(path, line, value));
            // file: paths are relative to the config file like every other path.
            cfg.pin_source =
                value.rfind("file:", 0) == 0 ? "file:" + resolve(value.substr(5)).string() : value;
            seen_pin = true;
        } else if (key == "database") {
            cfg.database = resolve(value);
        } else if (key == "softhsm2_conf") {
            cfg.softhsm2_conf = resolve(value);
        } else if (key == "gcm_wrap_limit") {
            KW_TRY(cfg.gcm_wrap_limit, parse_count(path, line, key, value));
        } else if (key == "gcm_wrap_reserve") {
            KW_TRY(cfg.gcm_wrap_reserve, parse_count(path, line, key, value));
        } else if (key == "busy_timeout_ms") {
            KW_TRY(cfg.busy_timeout_ms, parse_busy_timeout(path, line, value));
        } else if (key == "quirks") {
            cfg.quirks = value;  // parsed by the PKCS#11 adapter, which knows the names
        } else if (key == "debug") {
            auto channels = core::parse_debug_channels(value);
            if (!channels) return bad(path, line, "debug: " + channels.error().message());
            cfg.debug = value;
        } else if (key == "principal") {
            if (!valid_principal_name(value)) {
                return bad(path, line,
                           "principal must be 1-64 letters, digits or ._@- starting with a "
                           "letter or digit, not \"" +
                               value + "\"");
            }
            cfg.principal = value;
        } else if (key == "audit") {
            if (value != "strict" && value != "grouped") {
                return bad(path, line, "audit must be strict or grouped, not \"" + value + "\"");
            }
            cfg.audit_strict = value == "strict";
        } else if (key == "two_person_rule") {
            if (value != "on" && value != "off") {
                return bad(path, line, "two_person_rule must be on or off, not \"" + value + "\"");
            }
            cfg.two_person_rule = value == "on";
        } else if (key == "rollback_window_days") {
            KW_TRY(auto days, parse_count(path, line, key, value));
            if (days == 0 || days > 36500) {
                return bad(path, line, "rollback_window_days is 1 to 36500 days");
            }
            cfg.rollback_window_days = static_cast<std::uint32_t>(days);
        } else if (key == "reconnect_after_objects") {
            // 0 is meaningful here: never reconnect (and keep no PIN).
            if (value == "0") {
                cfg.reconnect_after_objects = 0;
            } else {
                KW_TRY(cfg.reconnect_after_objects, parse_count(path, line, key, value));
            }
        } else if (key == "listen") {
            cfg.service.listen.push_back(value);
        } else if (key == "socket") {
            cfg.service.socket = resolve(value);
        } else if (key == "tls_cert") {
            cfg.service.tls_cert = resolve(value);
        } else if (key == "tls_key") {
            cfg.service.tls_key = resolve(value);
        } else if (key == "tls_client_ca") {
            cfg.service.tls_client_ca = resolve(value);
        } else if (key == "service_scheduling") {
            if (value == "batch") {
                cfg.service.batch_scheduling = true;
            } else if (value == "normal") {
                cfg.service.batch_scheduling = false;
            } else {
                return bad(path, line, "service_scheduling must be batch or normal");
            }
        } else if (key.rfind("service_", 0) == 0) {
            KW_TRY(auto n, parse_count(path, line, key, value));
            if (n > 100000000) return bad(path, line, key + " is out of range");
            const auto v = static_cast<std::uint32_t>(n);
            // A timeout under 100 ms would cut every connection: a typo, refused.
            const bool connection_timeout = key == "service_header_timeout_ms" ||
                                            key == "service_idle_timeout_ms" ||
                                            key == "service_write_timeout_ms";
            if (connection_timeout && v < 100) {
                return bad(path, line, key + " must be at least 100 (milliseconds)");
            }
            if (key == "service_workers") {
                cfg.service.workers = v;
            } else if (key == "service_max_connections") {
                cfg.service.max_connections = v;
            } else if (key == "service_max_batch_items") {
                cfg.service.max_batch_items = v;
            } else if (key == "service_header_timeout_ms") {
                cfg.service.header_timeout_ms = v;
            } else if (key == "service_idle_timeout_ms") {
                cfg.service.idle_timeout_ms = v;
            } else if (key == "service_write_timeout_ms") {
                cfg.service.write_timeout_ms = v;
            } else if (key == "service_drain_timeout_ms") {
                cfg.service.drain_timeout_ms = v;
            } else if (key == "service_auto_rotate_check_ms") {
                cfg.service.auto_rotate_check_ms = v;
            } else {
                return bad(path, line, "unknown key \"" + key + "\" (see docs/CONFIG.md)");
            }
        } else {
            return bad(path, line, "unknown key \"" + key + "\" (see docs/CONFIG.md)");
        }
    }
    if (cfg.module.empty()) return bad(path, line, "missing module = PATH");
    if (cfg.token.empty()) return bad(path, line, "missing token = LABEL or pkcs11: URI");
    if (!seen_pin) return bad(path, line, "missing pin = env:VAR, file:PATH or prompt");
    if (cfg.database.empty()) return bad(path, line, "missing database = PATH");
    return cfg;
}

bool valid_principal_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64) return false;
    auto alnum = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    if (!alnum(name[0])) return false;
    for (char c : name) {
        if (!alnum(c) && c != '.' && c != '_' && c != '@' && c != '-') return false;
    }
    return true;
}

Result<fs::path> locate_config(const std::optional<fs::path>& flag) {
    if (flag) {
        if (!fs::exists(*flag)) {
            return Error(Errc::bad_config, "config " + flag->string() + " does not exist");
        }
        return *flag;
    }
    if (const char* env = std::getenv("KEYWARD_CONFIG"); env != nullptr && *env != '\0') {
        if (!fs::exists(env)) {
            return Error(Errc::bad_config,
                         std::string("KEYWARD_CONFIG names ") + env + ", which does not exist");
        }
        return fs::path(env);
    }
    for (const char* candidate : {"keyward.conf", "/etc/keyward/keyward.conf"}) {
        if (fs::exists(candidate)) return fs::path(candidate);
    }
    return Error(Errc::bad_config,
                 "no configuration: pass --config FILE, set KEYWARD_CONFIG, or run "
                 "keyward init --softhsm DIR to make one");
}

std::string render_config(const Config& cfg) {
    std::ostringstream out;
    out << "# keyward configuration (docs/CONFIG.md). Paths are relative to this file.\n"
        << "# PKCS#11 module that holds the KEKs\n"
        << "module = " << cfg.module << "\n"
        << "# token label, or an RFC 7512 pkcs11: URI\n"
        << "token = " << cfg.token << "\n"
        << "# where the user PIN comes from: env:VAR, file:PATH or prompt (never the PIN itself)\n"
        << "pin = " << cfg.pin_source << "\n"
        << "database = " << cfg.database.string() << "\n";
    if (!cfg.softhsm2_conf.empty()) {
        out << "# SoftHSM reads its token directory from this file (keyward sets SOFTHSM2_CONF)\n"
            << "softhsm2_conf = " << cfg.softhsm2_conf.string() << "\n";
    }
    if (cfg.principal != "owner") out << "principal = " << cfg.principal << "\n";
    if (cfg.audit_strict) out << "audit = strict\n";
    if (cfg.two_person_rule) out << "two_person_rule = on\n";
    return out.str();
}

}  // namespace keyward
