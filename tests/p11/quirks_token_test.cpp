// SPDX-License-Identifier: Apache-2.0
// The token quirks profile on real SoftHSM tokens: what is detected and measured at connect,
// what `quirks =` changes (none, single quirks, the reconnect number), KEKs that are modifiable,
// and a module that offers its functions only through PKCS#11 3.0's C_GetInterface.
#include "support/catch_errc.hpp"

#include <cstdlib>
#include <filesystem>

#include "keyward/types.hpp"
#include "p11/kek_attributes.hpp"
#include "p11/rv.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/softhsm_token.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::Suite;
using keyward::core::KekRef;
using keyward::test::random_bytes;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;
using Names = std::vector<std::string>;
namespace fs = std::filesystem;
namespace p11 = keyward::p11;

namespace {

keyward::Result<std::unique_ptr<p11::P11Hsm>> connect_with(p11::ConnectOptions options,
                                                           std::string_view quirks) {
    auto settings = p11::parse_quirks(quirks);
    if (!settings) return std::move(settings).error();
    options.quirks = std::move(settings).value();
    return p11::P11Hsm::connect(std::move(options));
}

std::unique_ptr<p11::P11Hsm> must(keyward::Result<std::unique_ptr<p11::P11Hsm>> hsm) {
    if (!hsm) FAIL(hsm.error().message());
    return std::move(hsm).value();
}

template <typename T>
Errc errc_of(const keyward::Result<T>& r) {
    return r.ok() ? Errc::ok : r.error().code();
}

// A suite's KEK round trip: wraps and unwraps a fresh DEK.
void round_trip(p11::P11Hsm& hsm, const std::string& label, Suite suite) {
    REQUIRE(hsm.generate_kek(label, suite, Bytes{7}).ok());
    const KekRef kek{label, suite};
    const Bytes dek = random_bytes(32);
    auto wrapped = hsm.wrap_dek(kek, dek, Bytes{1, 2, 3});
    REQUIRE(wrapped.ok());
    auto back = hsm.unwrap_dek(kek, *wrapped, Bytes{1, 2, 3});
    REQUIRE(back.ok());
    CHECK(Bytes(back->begin(), back->end()) == dek);
}

// The module that offers only C_GetInterface, forwarding to this machine's SoftHSM.
std::string interface_shim(const SoftHsmToken& token) {
    const char* shim = std::getenv("KEYWARD_INTERFACE_SHIM");
    if (shim == nullptr) throw std::runtime_error("KEYWARD_INTERFACE_SHIM is not set");
    ::setenv("KEYWARD_SHIM_TARGET", token.module_path().c_str(), 1);
    return shim;
}

}  // namespace

TEST_CASE("SoftHSM's profile is detected, measured by the known-answer tests, and reported") {
    SoftHsmToken token("kw-quirks");
    auto hsm = token.connect();
    CHECK(hsm->quirks().names() == Names{"login-guard", "startup-retries", "reconnect-after=10000",
                                         "pad-as-kwp", "kwp-zero-pads", "value-len-zero"});
    CHECK(hsm->suite1_mechanism_name() == "CKM_AES_KEY_WRAP_PAD");
    CHECK_FALSE(hsm->suite1_wraps_any_length());
    // kwp-zero-pads: a 20-byte key is refused rather than wrapped as 24 bytes...
    REQUIRE(hsm->generate_kek("keyward:q:v1", Suite::kwp, Bytes{1}).ok());
    const KekRef v1{"keyward:q:v1", Suite::kwp};
    CHECK(errc_of(hsm->wrap_dek(v1, random_bytes(20), {})) == Errc::unsupported);
    // ...and value-len-zero: a re-wrap that cannot say the DEK's length still asks the token
    // for it, as the length of CKA_VALUE.
    REQUIRE(hsm->generate_kek("keyward:q:v2", Suite::kwp, Bytes{2}).ok());
    const KekRef v2{"keyward:q:v2", Suite::kwp};
    auto wrapped = hsm->wrap_dek(v1, random_bytes(32), {});
    REQUIRE(wrapped.ok());
    auto rewrapped = hsm->rewrap_dek(v1, *wrapped, {}, v2, {}, 0);
    REQUIRE(rewrapped.ok());
    CHECK(rewrapped->size() == wrapped->size());
}

TEST_CASE("quirks = none is generic PKCS#11: SoftHSM then has no RFC 5649 under its number") {
    SoftHsmToken token("kw-quirks-none");
    auto hsm = must(connect_with(token.options(), "none"));
    CHECK(hsm->quirks().names().empty());
    CHECK_FALSE(hsm->supports(Suite::kwp));
    CHECK_THAT(hsm->unavailable_reason(Suite::kwp),
               Catch::Contains("CKM_AES_KEY_WRAP_KWP not offered") &&
                   Catch::Contains("CKM_AES_KEY_WRAP_PAD was not tried (quirk pad-as-kwp is off)"));
    CHECK(errc_of(hsm->generate_kek("keyward:n:v1", Suite::kwp, Bytes{1})) == Errc::unsupported);
    round_trip(*hsm, "keyward:n2:v1", Suite::gcm);  // suite 2 needs no quirk
}

TEST_CASE("quirks = none, pad-as-kwp gives suite 1 back, with what the tests measured") {
    SoftHsmToken token("kw-quirks-pad");
    auto hsm = must(connect_with(token.options(), "none, pad-as-kwp"));
    CHECK(hsm->quirks().names() == Names{"pad-as-kwp", "kwp-zero-pads", "value-len-zero"});
    round_trip(*hsm, "keyward:p:v1", Suite::kwp);
}

TEST_CASE("the reconnect number comes from the profile, reconnect_after_objects or quirks") {
    SoftHsmToken token("kw-quirks-rc");
    auto options = token.options();
    options.reconnect_after_objects = 500;
    auto hsm = must(p11::P11Hsm::connect(options));
    CHECK(hsm->quirks().reconnect_after == 500);
    hsm.reset();
    CHECK(must(connect_with(token.options(), "reconnect-after=700"))->quirks().reconnect_after ==
          700);
    CHECK(must(connect_with(token.options(), "-reconnect-after"))->quirks().reconnect_after == 0);
    // Both at once is a configuration to fix, not a precedence to guess.
    options = token.options();
    options.reconnect_after_objects = 500;
    auto both = connect_with(options, "auto, reconnect-after=100");
    CHECK(errc_of(both) == Errc::bad_config);
    CHECK_THAT(both.error().message(), Catch::Contains("keep one of them"));
}

TEST_CASE("modifiable-keks: a KEK whose CKA_MODIFIABLE is TRUE is used only when configured") {
    SoftHsmToken token("kw-quirks-mod");
    auto hsm = token.connect();
    {
        // Made behind keyward's back with every attribute keyward asks for, except this one.
        RawToken raw(token);
        auto t = p11::kek_template("keyward:m:v1", Suite::kwp, Bytes{9}, true);
        CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
        CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;
        REQUIRE(
            KW_P11_CALL(raw.f(), C_GenerateKey, raw.h(), &mech, t.data(), t.size(), &handle).ok());
    }
    const KekRef kek{"keyward:m:v1", Suite::kwp};
    auto refused = hsm->check_value(kek);
    CHECK(errc_of(refused) == Errc::token_mismatch);
    CHECK_THAT(refused.error().message(), Catch::Contains("CKA_MODIFIABLE"));

    auto lenient = must(connect_with(token.options(), "auto, modifiable-keks"));
    CHECK(lenient->quirks().modifiable_keks);
    CHECK(lenient->check_value(kek).ok());
}

TEST_CASE("a module with only C_GetInterface is loaded through it, and profiled by its token") {
    SoftHsmToken token("kw-quirks-iface");
    auto options = token.options();
    options.module_path = interface_shim(token);
    const fs::path lock = token.token_dir() / "keyward-login.lock";
    fs::remove(lock);

    auto hsm = must(p11::P11Hsm::connect(options));
    {
        auto module = p11::Module::acquire(options.module_path);  // the connection's, shared
        REQUIRE(module.ok());
        CHECK((*module)->info().entry_point == "C_GetInterface");
        CHECK((*module)->info().manufacturer == "SoftHSM");
    }
    // Not "softhsm" by file name: no file-store quirks; SoftHSM by its token: reconnects, and
    // without the guard around their logins ten times more rarely.
    CHECK(hsm->quirks().names() ==
          Names{"reconnect-after=100000", "pad-as-kwp", "kwp-zero-pads", "value-len-zero"});
    CHECK_FALSE(fs::exists(lock));
    round_trip(*hsm, "keyward:i:v1", Suite::kwp);
    hsm.reset();

    // keyward.conf can give a renamed SoftHSM its login guard.
    auto guarded = must(connect_with(options, "auto, login-guard"));
    CHECK(guarded->quirks().login_guard);
    CHECK(fs::exists(lock));
}

TEST_CASE("the direct module is loaded through C_GetFunctionList, which is all SoftHSM 2.6 has") {
    SoftHsmToken token("kw-quirks-gfl");
    auto hsm = token.connect();
    auto module = p11::Module::acquire(token.module_path());
    REQUIRE(module.ok());
    CHECK((*module)->info().entry_point == "C_GetFunctionList");
    CHECK((*module)->info().interface_version.major == 2);
    CHECK((*module)->info().description == "Implementation of PKCS11");
}
