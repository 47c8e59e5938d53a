// SPDX-License-Identifier: Apache-2.0
// init: make a ready-to-use setup, either an embedded SoftHSM token in a directory or a
// binding to a token an HSM administrator already set up.
#include <cstdlib>
#include <filesystem>

#include "command.hpp"
#include "io.hpp"
#include "keyward/setup.hpp"

namespace keyward::cli {

namespace fs = std::filesystem;

namespace {

Status write_pin_file(const fs::path& path, const SecretString& pin) {
    SecretBytes bytes(pin.begin(), pin.end());
    bytes.push_back('\n');
    return write_private_file(path.string(), bytes, true);
}

// Creates the database, proves the token and PIN work by opening keyward with the config
// (which binds the database to the token), and removes the database again if that fails.
// Returns the token's serial number.
Result<std::string> create_and_bind(const Config& config) {
    const bool existed = fs::exists(config.database);
    KW_TRY_STATUS(setup::create_database(config.database));
    auto kw = Keyward::open(config);
    if (!kw.ok()) {
        if (!existed) {
            std::error_code ignored;
            for (const char* suffix : {"", "-wal", "-shm"}) {
                fs::remove(config.database.string() + suffix, ignored);
            }
        }
        return kw.error();
    }
    return (*kw)->token().serial;
}

void print_result(const Invocation& inv, const Config& config, const fs::path& conf_path,
                  const std::string& serial, const std::string& what) {
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("config", conf_path.string())
            .field("module", config.module)
            .field("token", config.token)
            .field("token_serial", serial)
            .field("pin", config.pin_source)
            .field("database", config.database.string())
            .end_object();
        inv.print_json(j);
        return;
    }
    inv.print_text(what + "\n  token     \"" + config.token + "\" (serial " + serial + ")\n" +
                   "  database  " + config.database.string() + "\n  pin       " +
                   config.pin_source + "\n  config    " + conf_path.string() +
                   "\n\nUse it with:\n  export KEYWARD_CONFIG=" + conf_path.string() + "\n");
}

Status init_softhsm(const Invocation& inv, const Args& args) {
    fs::path dir = fs::absolute(*args.get("--softhsm")).lexically_normal();
    const fs::path conf_path = dir / "keyward.conf";
    if (fs::exists(conf_path)) {
        return Error(Errc::already_exists, conf_path.string() +
                                               " already exists; keyward init will not overwrite "
                                               "it (use another DIR, or remove the old setup)");
    }
    std::string label = args.get("--token-label").value_or("keyward");
    if (label.empty() || label.size() > 32) {
        return Error(Errc::usage, "--token-label must be 1-32 characters");
    }
    auto module = setup::find_softhsm_module();
    if (!module) {
        return Error(Errc::hsm_unavailable,
                     "SoftHSM is not installed (libsofthsm2.so not found): apt-get install "
                     "softhsm2, or use keyward init --module for another token");
    }
    // Anything of an earlier setup (a lost config, a run that failed half-way) holds PINs or a
    // token whose keys depend on them: never write over it.
    std::error_code ec;
    for (const char* part : {"user.pin", "so.pin", "keyward.db", "softhsm2.conf"}) {
        if (fs::exists(dir / part, ec)) {
            return Error(Errc::already_exists,
                         (dir / part).string() +
                             " exists from an earlier setup; keyward init will "
                             "not overwrite it (its token's keys depend on it): "
                             "use another DIR, or remove this one");
        }
    }
    if (fs::exists(dir / "tokens", ec) && !fs::is_empty(dir / "tokens", ec)) {
        return Error(Errc::already_exists, (dir / "tokens").string() +
                                               " already holds a token; keyward init will not "
                                               "touch it: use another DIR, or remove this one");
    }
    const bool dir_is_new = !fs::exists(dir, ec);
    fs::create_directories(dir / "tokens", ec);
    if (ec)
        return Error(Errc::io_error,
                     "cannot create " + (dir / "tokens").string() + ": " + ec.message());
    // Only a directory we made is narrowed: init --softhsm ~ must not chmod the home directory.
    if (dir_is_new) fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    if (!ec) fs::permissions(dir / "tokens", fs::perms::owner_all, fs::perm_options::replace, ec);
    if (ec)
        return Error(Errc::io_error, "cannot make " + dir.string() + " private: " + ec.message());

    const fs::path softhsm_conf = dir / "softhsm2.conf";
    const std::string softhsm_text = setup::softhsm_config_text(dir / "tokens");
    KW_TRY_STATUS(write_private_file(softhsm_conf.string(), as_bytes(softhsm_text), true));

    Config config;
    config.module = *module;
    config.token = label;
    config.database = dir / "keyward.db";
    config.softhsm2_conf = softhsm_conf;

    SecretString user_pin;
    if (const char* env = std::getenv("KEYWARD_PIN"); env != nullptr && *env != '\0') {
        user_pin = env;
        config.pin_source = "env:KEYWARD_PIN";
    } else {
        KW_TRY(user_pin, setup::generate_pin());
        KW_TRY_STATUS(write_pin_file(dir / "user.pin", user_pin));
        config.pin_source = "file:" + (dir / "user.pin").string();
    }
    KW_TRY(auto so_pin, setup::generate_pin());
    KW_TRY_STATUS(write_pin_file(dir / "so.pin", so_pin));

    KW_TRY_STATUS(setup::init_token(config.module, softhsm_conf.string(), label, so_pin, user_pin));
    KW_TRY(auto serial, create_and_bind(config));
    // The config is written last: its presence means the setup is complete.
    KW_TRY_STATUS(write_private_file(conf_path.string(), as_bytes(render_config(config)), true));
    print_result(inv, config, conf_path, serial, "initialized SoftHSM token in " + dir.string());
    return {};
}

Status init_module(const Invocation& inv, const Args& args) {
    for (const char* required : {"--module", "--token", "--db"}) {
        if (!args.has(required)) {
            return Error(Errc::usage, std::string("init --module needs ") + required +
                                          " (see keyward init --help)");
        }
    }
    const fs::path conf_path = fs::absolute(args.get("--out").value_or("keyward.conf"));
    if (fs::exists(conf_path)) {
        return Error(Errc::already_exists,
                     conf_path.string() + " already exists; keyward init will not overwrite it");
    }
    Config config;
    config.module = fs::absolute(*args.get("--module")).string();
    config.token = *args.get("--token");
    config.database = fs::absolute(*args.get("--db"));
    const char* env_pin = std::getenv("KEYWARD_PIN");
    config.pin_source =
        args.get("--pin-source")
            .value_or(env_pin != nullptr && *env_pin != '\0' ? "env:KEYWARD_PIN" : "prompt");
    // Reuse the config reader's checks on the PIN source by round-tripping through the parser
    // rules: a bad source is a usage error before the token is touched.
    const auto& src = config.pin_source;
    if (!(src == "prompt" || (src.rfind("env:", 0) == 0 && src.size() > 4) ||
          (src.rfind("file:", 0) == 0 && src.size() > 5))) {
        return Error(Errc::usage, "--pin-source must be env:VAR, file:PATH or prompt");
    }
    if (src.rfind("file:", 0) == 0) {
        config.pin_source = "file:" + fs::absolute(src.substr(5)).string();
    }
    KW_TRY(auto serial, create_and_bind(config));
    KW_TRY_STATUS(write_private_file(conf_path.string(), as_bytes(render_config(config)), true));
    print_result(inv, config, conf_path, serial,
                 "bound " + config.database.string() + " to the token");
    return {};
}

Status run_init(const Invocation& inv, const Args& args) {
    if (args.has("--softhsm") == args.has("--module")) {
        return Error(Errc::usage,
                     "init needs either --softhsm DIR or --module PATH (see keyward "
                     "init --help)");
    }
    return args.has("--softhsm") ? init_softhsm(inv, args) : init_module(inv, args);
}

}  // namespace

const Command kInitCommand = {
    "init",
    "set up a token and database (embedded SoftHSM, or an existing HSM)",
    "usage: keyward init --softhsm DIR [--token-label L]\n"
    "       keyward init --module PATH --token LABEL|URI --db PATH [--pin-source SRC] [--out "
    "FILE]\n\n"
    "--softhsm DIR makes everything a new user needs, readable only by its owner:\n"
    "  DIR/softhsm2.conf  SoftHSM config pointing at DIR/tokens\n"
    "  DIR/tokens/        a fresh SoftHSM token (label \"keyward\" unless --token-label)\n"
    "  DIR/user.pin       the user PIN, generated (unless $KEYWARD_PIN is set: then the config\n"
    "                     reads the PIN from that variable and no file is written)\n"
    "  DIR/so.pin         the token's security officer PIN, generated\n"
    "  DIR/keyward.db     the database, bound to the token\n"
    "  DIR/keyward.conf   the config; prints the export KEYWARD_CONFIG=... line to use\n"
    "It refuses to overwrite an existing DIR/keyward.conf.\n\n"
    "--module PATH binds a new database to a token an HSM administrator already set up,\n"
    "after logging in once to prove the PIN works, and writes the config to --out\n"
    "(default ./keyward.conf). --pin-source is env:VAR, file:PATH or prompt (default:\n"
    "env:KEYWARD_PIN when that is set, else prompt). A PIN is never taken on the command line.\n",
    {{"--softhsm", true},
     {"--token-label", true},
     {"--module", true},
     {"--token", true},
     {"--db", true},
     {"--pin-source", true},
     {"--out", true}},
    0,
    0,
    run_init};

}  // namespace keyward::cli
