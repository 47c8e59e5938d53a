// SPDX-License-Identifier: Apache-2.0
// Connecting to a token: module loading errors, token selection by label and pkcs11: URI,
// PIN errors (never retried), PIN sources, token initialisation refusals.
#include "support/catch_errc.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "p11/init_token.hpp"
#include "p11/module.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/pin_source.hpp"
#include "p11/softhsm.hpp"
#include "p11/softhsm_login_guard.hpp"
#include "p11/token_finder.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"
#include "support/test_env.hpp"

using keyward::Errc;
using keyward::SecretString;
using keyward::p11::P11Hsm;
using keyward::test::SoftHsmToken;
using keyward::test::str;

namespace {

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

std::string write_pin_file(const std::string& name, const std::string& content, mode_t mode) {
    auto path = keyward::test::fresh_dir("pin") / name;
    {
        std::ofstream out(path, std::ios::binary);
        out << content;
    }
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    return path.string();
}

// The fixture's token sub-directory whose token.object carries this serial (SoftHSM stores the
// serial in it), and the KEK object files in it.
std::filesystem::path token_dir_of(const SoftHsmToken& token, const std::string& serial) {
    for (const auto& e : std::filesystem::directory_iterator(token.token_dir())) {
        const auto object = e.path() / "token.object";
        if (e.is_directory() && std::filesystem::exists(object) &&
            contains(keyward::test::read_file(object), serial)) {
            return e.path();
        }
    }
    return {};
}

std::vector<std::filesystem::path> object_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const auto name = e.path().filename().string();
        if (name.ends_with(".object") && name != "token.object") out.push_back(e.path());
    }
    return out;
}

}  // namespace

TEST_CASE("find_softhsm_module finds the installed SoftHSM") {
    auto path = keyward::p11::find_softhsm_module();
    REQUIRE(path.has_value());
    CHECK(::access(path->c_str(), R_OK) == 0);
    CHECK(contains(*path, "libsofthsm2.so"));
}

TEST_CASE("the right PIN connects and the identity is the token's") {
    SoftHsmToken token("kw-login");
    auto hsm = P11Hsm::connect(token.options());
    REQUIRE(hsm.ok());
    CHECK((*hsm)->identity().label == token.label());
    CHECK((*hsm)->identity().serial.size() == 16);
}

TEST_CASE("a wrong PIN is pin_incorrect, said once, without the PIN in the message") {
    SoftHsmToken token("kw-badpin");
    auto options = token.options();
    options.pin = SecretString("not-the-pin-5678");
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::pin_incorrect);
    CHECK(hsm.error().exit_code() == 6);
    CHECK(hsm.error().message() ==
          "wrong user PIN for token \"" + token.label() +
              "\" (not retried: repeated wrong PINs lock the token); check the PIN source");
    CHECK_FALSE(contains(hsm.error().message(), "not-the-pin"));
    // The right PIN still works afterwards.
    CHECK(P11Hsm::connect(token.options()).ok());
}

TEST_CASE("an empty PIN for a token that needs one is a configuration error") {
    SoftHsmToken token("kw-nopin");
    auto options = token.options();
    options.pin.clear();
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::bad_config);
}

TEST_CASE("a module that does not load is hsm_unavailable naming the path and the reason") {
    SoftHsmToken token("kw-nomod");  // loads SoftHSM with this process's configuration
    auto options = token.options();
    options.module_path = "/nonexistent/libpkcs11-missing.so";
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::hsm_unavailable);
    CHECK(contains(hsm.error().message(),
                   "cannot load PKCS#11 module \"/nonexistent/libpkcs11-missing.so\""));
    CHECK(contains(hsm.error().message(), "No such file or directory"));

    options = token.options();
    options.module_path = "libc.so.6";  // loads, but is no PKCS#11 module
    hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::hsm_unavailable);
    CHECK(contains(hsm.error().message(), "is not a PKCS#11 module (no C_GetFunctionList)"));
}

TEST_CASE("a token label that matches nothing lists the tokens present") {
    SoftHsmToken token("kw-list");
    auto options = token.options();
    options.token = "no-such-token";
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::hsm_unavailable);
    CHECK(contains(hsm.error().message(), "no token labelled \"no-such-token\""));
    CHECK(contains(hsm.error().message(), "\"" + token.label() + "\" (serial "));
}

TEST_CASE("a token label longer than 32 bytes is a configuration error") {
    SoftHsmToken token("kw-long");
    auto options = token.options();
    options.token = std::string(33, 'x');
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::bad_config);
}

TEST_CASE("a pkcs11: URI selects the token by label or by serial") {
    SoftHsmToken token("kw-uri");
    SoftHsmToken other("kw-uri");
    std::string serial;
    {
        auto hsm = P11Hsm::connect(token.options());
        REQUIRE(hsm.ok());
        serial = (*hsm)->identity().serial;
    }
    SECTION("by label") {
        auto options = token.options();
        options.token = "pkcs11:token=" + token.label();
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE(hsm.ok());
        CHECK((*hsm)->identity().label == token.label());
    }
    SECTION("by serial") {
        auto options = token.options();
        options.token = "pkcs11:serial=" + serial;
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE(hsm.ok());
        CHECK((*hsm)->identity().serial == serial);
        CHECK((*hsm)->identity().label == token.label());
    }
    SECTION("by label, model and percent-encoded manufacturer") {
        auto options = token.options();
        options.token =
            "pkcs11:model=SoftHSM%20v2;manufacturer=SoftHSM%20project;token=" + token.label();
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE(hsm.ok());
        CHECK((*hsm)->identity().label == token.label());
    }
    SECTION("a URI that matches several tokens is refused, naming them") {
        auto options = token.options();
        options.token = "pkcs11:manufacturer=SoftHSM%20project";
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE_FALSE(hsm.ok());
        CHECK(hsm.error().code() == Errc::hsm_unavailable);
        CHECK(contains(hsm.error().message(), "tokens matching"));
        CHECK(contains(hsm.error().message(), "\"" + token.label() + "\""));
        CHECK(contains(hsm.error().message(), "\"" + other.label() + "\""));
    }
    SECTION("a URI that matches nothing lists the tokens") {
        auto options = token.options();
        options.token = "pkcs11:token=absent";
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE_FALSE(hsm.ok());
        CHECK(hsm.error().code() == Errc::hsm_unavailable);
        CHECK(contains(hsm.error().message(), "no token matching \"pkcs11:token=absent\""));
    }
    SECTION("a malformed URI is a configuration error") {
        auto options = token.options();
        options.token = "pkcs11:token=%zz";
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE_FALSE(hsm.ok());
        CHECK(hsm.error().code() == Errc::bad_config);
        CHECK(contains(hsm.error().message(), "is not a valid pkcs11: URI"));
    }
}

TEST_CASE("two connections to one token share the module; either may close first") {
    SoftHsmToken token("kw-share");
    auto first = P11Hsm::connect(token.options());
    auto second = P11Hsm::connect(token.options());
    REQUIRE(first.ok());
    REQUIRE(second.ok());
    REQUIRE((*first)->generate_kek("keyward:s:v1", keyward::Suite::kwp, keyward::Bytes{1}).ok());
    first = keyward::Error(Errc::failed, "closed");  // destroys the first connection
    keyward::core::KekRef kek{"keyward:s:v1", keyward::Suite::kwp};
    auto w = (*second)->wrap_dek(kek, keyward::Bytes(32, 1), {});
    REQUIRE(w.ok());
    CHECK((*second)->unwrap_dek(kek, *w, {}).ok());
}

TEST_CASE("a second SoftHSM configuration in the same process is refused") {
    SoftHsmToken token("kw-conf");
    auto hold = P11Hsm::connect(token.options());
    REQUIRE(hold.ok());
    auto options = token.options();
    options.softhsm2_conf = "/elsewhere/softhsm2.conf";
    auto hsm = P11Hsm::connect(std::move(options));
    REQUIRE_FALSE(hsm.ok());
    CHECK(hsm.error().code() == Errc::bad_config);
    CHECK(contains(hsm.error().message(), "already initialised in this process"));
}

TEST_CASE("init_token refuses a label that already exists") {
    SoftHsmToken token("kw-init");
    auto status = keyward::p11::init_token(token.module_path(), token.conf_path(), token.label(),
                                           token.so_pin(), token.user_pin());
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code() == Errc::already_exists);
    CHECK(contains(status.error().message(), "a token labelled \"" + token.label() + "\""));
}

TEST_CASE("read_pin takes a PIN from an environment variable") {
    ::setenv("KW_TEST_PIN", "env-pin-1234", 1);
    auto pin = keyward::p11::read_pin("env:KW_TEST_PIN");
    REQUIRE(pin.ok());
    CHECK(str(*pin) == "env-pin-1234");

    ::unsetenv("KW_TEST_PIN_MISSING");
    auto missing = keyward::p11::read_pin("env:KW_TEST_PIN_MISSING");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == Errc::bad_config);
    CHECK(
        missing.error().message() ==
        "PIN source env:KW_TEST_PIN_MISSING: environment variable KW_TEST_PIN_MISSING is not set");

    ::setenv("KW_TEST_PIN_EMPTY", "", 1);
    auto empty = keyward::p11::read_pin("env:KW_TEST_PIN_EMPTY");
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code() == Errc::bad_config);
}

TEST_CASE("read_pin takes a PIN from a private file without one trailing newline") {
    auto pin = keyward::p11::read_pin("file:" + write_pin_file("a", "file-pin-1\n", 0600));
    REQUIRE(pin.ok());
    CHECK(str(*pin) == "file-pin-1");

    pin = keyward::p11::read_pin("file:" + write_pin_file("b", "file-pin-2\r\n", 0400));
    REQUIRE(pin.ok());
    CHECK(str(*pin) == "file-pin-2");

    pin = keyward::p11::read_pin("file:" + write_pin_file("c", "file-pin-3", 0600));
    REQUIRE(pin.ok());
    CHECK(str(*pin) == "file-pin-3");

    pin = keyward::p11::read_pin("file:" + write_pin_file("d", "pin\n\n", 0600));
    REQUIRE(pin.ok());
    CHECK(str(*pin) == "pin\n");  // only one newline is stripped
}

TEST_CASE("read_pin refuses a PIN file that group or others can access") {
    for (mode_t mode : {0640, 0604, 0660, 0644, 0610}) {
        INFO("mode " << std::oct << mode);
        auto path = write_pin_file("open", "secret-pin\n", mode);
        auto pin = keyward::p11::read_pin("file:" + path);
        REQUIRE_FALSE(pin.ok());
        CHECK(pin.error().code() == Errc::bad_config);
        CHECK(contains(pin.error().message(), "is accessible to group or others"));
        CHECK(contains(pin.error().message(), "chmod 600 \"" + path + "\""));
        CHECK_FALSE(contains(pin.error().message(), "secret-pin"));
    }
}

TEST_CASE("read_pin reports missing and empty files, unknown sources and no terminal") {
    auto missing = keyward::p11::read_pin("file:/nonexistent/pin");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == Errc::bad_config);
    CHECK(contains(missing.error().message(), "cannot open PIN file \"/nonexistent/pin\""));

    auto empty = keyward::p11::read_pin("file:" + write_pin_file("e", "\n", 0600));
    REQUIRE_FALSE(empty.ok());
    CHECK(empty.error().code() == Errc::bad_config);

    for (const char* source : {"1234", "env:", "file:", "pass:1234", ""}) {
        auto bad = keyward::p11::read_pin(source);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().code() == Errc::bad_config);
        CHECK(bad.error().message() == "unknown PIN source; use env:VAR, file:PATH or prompt");
    }

    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY);
    if (tty >= 0) {
        ::close(tty);
        WARN("a terminal is attached: the no-terminal case of read_pin(\"prompt\") is not run");
    } else {
        auto prompt = keyward::p11::read_pin("prompt");
        REQUIRE_FALSE(prompt.ok());
        CHECK(prompt.error().code() == Errc::bad_config);
        CHECK(prompt.error().message() ==
              "no terminal to ask for the PIN on; give it as env:VAR or file:PATH");
    }
}

TEST_CASE("a process can switch SoftHSM configurations once no connection holds the module") {
    SoftHsmToken token("kw-switch");  // the process's usual configuration, released below
    // A second token directory with its own configuration, as `keyward init` makes one.
    auto dir = keyward::test::fresh_dir("softhsm-other");
    std::filesystem::create_directories(dir / "tokens");
    const std::string conf = (dir / "softhsm2.conf").string();
    {
        std::ofstream out(conf);
        out << "directories.tokendir = " << (dir / "tokens").string()
            << "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n";
    }
    REQUIRE(keyward::p11::init_token(token.module_path(), conf, "kw-elsewhere", token.so_pin(),
                                     token.user_pin())
                .ok());
    {
        auto options = token.options();
        options.softhsm2_conf = conf;
        options.token = "kw-elsewhere";
        auto hsm = P11Hsm::connect(std::move(options));
        REQUIRE(hsm.ok());
        CHECK((*hsm)->identity().label == "kw-elsewhere");
        // The first configuration's token is not in this one.
        auto listing = (*hsm)->find_keks("anything");
        CHECK(listing.ok());
    }
    // And back: the usual configuration's token is found again.
    auto back = P11Hsm::connect(token.options());
    REQUIRE(back.ok());
    CHECK((*back)->identity().label == token.label());
}

TEST_CASE("connect keeps a copy of token.object and restores the token when a kill emptied it") {
    namespace fs = std::filesystem;
    SoftHsmToken token("kw-guard");
    const keyward::core::KekRef kek{"keyward:g:v1", keyward::Suite::kwp};
    std::string serial;
    keyward::Bytes wrapped;
    {
        auto hsm = P11Hsm::connect(token.options());
        REQUIRE(hsm.ok());
        serial = (*hsm)->identity().serial;
        REQUIRE((*hsm)->generate_kek(kek.label, kek.suite, keyward::Bytes{7}).ok());
        auto w = (*hsm)->wrap_dek(kek, keyward::Bytes(32, 5), {});
        REQUIRE(w.ok());
        wrapped = *w;
    }
    const auto dir = token_dir_of(token, serial);
    REQUIRE(!dir.empty());
    const fs::path copy = keyward::p11::SoftHsmLoginGuard::copy_path(token.token_dir().string(),
                                                                     dir.filename().string());
    REQUIRE(fs::exists(copy));
    CHECK(keyward::test::read_file(copy) == keyward::test::read_file(dir / "token.object"));
    CHECK((fs::status(copy).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    // What a SIGKILL inside SoftHSM's C_Login leaves: without the copy, the token and its KEK
    // (encrypted under the key that token.object's PIN blobs wrap) would be gone.
    fs::resize_file(dir / "token.object", 0);
    auto hsm = P11Hsm::connect(token.options());
    if (!hsm.ok()) FAIL(hsm.error().message());
    CHECK((*hsm)->identity().serial == serial);
    auto dek = (*hsm)->unwrap_dek(kek, wrapped, {});
    REQUIRE(dek.ok());
    CHECK(keyward::Bytes(dek->begin(), dek->end()) == keyward::Bytes(32, 5));
    CHECK(fs::file_size(dir / "token.object") > 0);
    CHECK(keyward::test::read_file(copy) == keyward::test::read_file(dir / "token.object"));
}

TEST_CASE(
    "SoftHSM 2.6.1 loads nothing from the guard's file names, and a real object name is loaded") {
    namespace fs = std::filesystem;
    SoftHsmToken token("kw-guard-names");
    const std::string label = "keyward:names:v1";
    std::string serial;
    {
        auto hsm = P11Hsm::connect(token.options());
        REQUIRE(hsm.ok());
        serial = (*hsm)->identity().serial;
        REQUIRE((*hsm)->generate_kek(label, keyward::Suite::kwp, keyward::Bytes{9}).ok());
    }
    const auto dir = token_dir_of(token, serial);
    REQUIRE(!dir.empty());
    const auto objects = object_files(dir);
    REQUIRE(objects.size() == 1);
    const std::string kek_file = keyward::test::read_file(objects.front());
    auto plant = [&](const fs::path& path) {
        std::ofstream out(path, std::ios::binary);
        out << kek_file;
        REQUIRE(out.flush());
    };
    auto keks = [&] {
        auto hsm = P11Hsm::connect(token.options());
        REQUIRE(hsm.ok());
        auto found = (*hsm)->find_keks(label);
        REQUIRE(found.ok());
        return found->size();
    };
    auto initialised_tokens = [&] {
        keyward::p11::ModuleOptions mo;
        mo.softhsm2_conf = token.conf_path();
        auto module = keyward::p11::Module::acquire(token.module_path(), mo);
        REQUIRE(module.ok());
        auto tokens = keyward::p11::list_tokens((*module)->functions());
        REQUIRE(tokens.ok());
        return std::count_if(tokens->begin(), tokens->end(),
                             [](const auto& t) { return t.initialized(); });
    };
    const auto before = initialised_tokens();

    // The KEK's own bytes under every name the guard uses (a restore's temporary file inside
    // the token directory; the lock, copies and their temporary files at the top level) and
    // even as a top-level "*.object": none of them is loaded.
    plant(dir / "token.object.keyward-restore");
    plant(token.token_dir() / ("keyward-" + dir.filename().string() + ".token.object.copy.tmp"));
    plant(token.token_dir() / "keyward-stray.token.object.copy");
    plant(token.token_dir() / "0b1e3c4d-aaaa-bbbb-cccc-00000000000f.object");
    CHECK(fs::exists(token.token_dir() / "keyward-login.lock"));
    CHECK(keks() == 1);
    CHECK(initialised_tokens() == before);

    // Not vacuous: the same bytes under an object name inside the token directory are a
    // second KEK with that label.
    plant(dir / "0b1e3c4d-aaaa-bbbb-cccc-00000000000e.object");
    CHECK(keks() == 2);
}
