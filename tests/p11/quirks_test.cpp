// SPDX-License-Identifier: Apache-2.0
// The token quirks profile without a token: what is detected for which module and token, the
// `quirks =` grammar and its refusals, and the names reported.
#include "support/catch_errc.hpp"

#include "p11/quirks.hpp"

using keyward::Errc;
using keyward::p11::apply_quirk_settings;
using keyward::p11::detect_quirks;
using keyward::p11::parse_quirks;
using keyward::p11::Quirks;
using keyward::p11::QuirkSettings;
using Names = std::vector<std::string>;

namespace {

constexpr const char* kSoftHsmPath = "/usr/lib/softhsm/libsofthsm2.so";

Quirks softhsm_profile() {
    return detect_quirks({kSoftHsmPath, "SoftHSM project"});
}

Quirks with(std::string_view text, const Quirks& detected = softhsm_profile()) {
    auto settings = parse_quirks(text);
    if (!settings) FAIL(settings.error().message());
    return apply_quirk_settings(detected, *settings);
}

void refused(std::string_view text, const std::string& says) {
    auto settings = parse_quirks(text);
    INFO(text);
    REQUIRE_FALSE(settings.ok());
    CHECK(settings.error().code() == Errc::bad_config);
    CHECK_THAT(settings.error().message(), Catch::Contains(says));
}

}  // namespace

TEST_CASE("SoftHSM gets its file-store quirks by file name and its memory quirk by manufacturer") {
    // Moment 1: only the module's file name is known (before C_Initialize).
    CHECK(detect_quirks({kSoftHsmPath, ""}).names() ==
          Names{"login-guard", "startup-retries", "pad-as-kwp"});
    // Moment 2: the token says who made it.
    CHECK(softhsm_profile().names() ==
          Names{"login-guard", "startup-retries", "reconnect-after=10000", "pad-as-kwp"});
    // The directory does not count, the case does not matter.
    CHECK(detect_quirks({"/opt/softhsm/libother.so", ""}).names() == Names{"pad-as-kwp"});
    CHECK(detect_quirks({"/opt/LIBSOFTHSM2.SO", ""}).login_guard);
    // A renamed SoftHSM module: the token still tells, the file name does not; without the
    // login guard around their C_Login, reconnects stay ten times rarer.
    CHECK(detect_quirks({"/opt/hsm/libshim.so", "SoftHSM project"}).names() ==
          Names{"reconnect-after=100000", "pad-as-kwp"});
}

TEST_CASE("any other module gets only the known-answer-tested PAD fallback") {
    auto q = detect_quirks({"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "OpenSC Project"});
    CHECK(q.names() == Names{"pad-as-kwp"});
    CHECK_FALSE(q.modifiable_keks);  // never detected: an administrator opts in
    CHECK_FALSE(q.kwp_zero_pads);    // measured later, never assumed
    CHECK_FALSE(q.value_len_zero);
}

TEST_CASE("quirks = auto, none, and changes to either") {
    CHECK(with("auto") == softhsm_profile());
    CHECK(with("") == softhsm_profile());  // no words: auto
    CHECK(with("none").names().empty());
    CHECK(with("auto, -startup-retries").names() ==
          Names{"login-guard", "reconnect-after=10000", "pad-as-kwp"});
    // Without a base word, the base is auto; commas and blanks both separate words.
    CHECK(with("-login-guard -startup-retries").names() ==
          Names{"reconnect-after=10000", "pad-as-kwp"});
    CHECK(with("none login-guard,reconnect-after=50000").names() ==
          Names{"login-guard", "reconnect-after=50000"});
    CHECK(with("auto, reconnect-after=0").reconnect_after == 0);
    CHECK(with("-reconnect-after").reconnect_after == 0);
    CHECK(with("auto, modifiable-keks").modifiable_keks);
    CHECK(with("none, pad-as-kwp").names() == Names{"pad-as-kwp"});
    // Changes apply to any module's profile.
    auto other = detect_quirks({"/usr/lib/vendor-hsm.so", "Vendor"});
    CHECK(with("auto, login-guard", other).names() == Names{"login-guard", "pad-as-kwp"});
}

TEST_CASE("quirks = refuses what it does not know, naming the word") {
    refused("auto, softhsm-magic",
            "\"softhsm-magic\" is not a quirk (known: auto, none, "
            "login-guard, startup-retries, reconnect-after=N, pad-as-kwp, "
            "modifiable-keks)");
    refused("-jittered-start", "\"-jittered-start\" is not a quirk");
    refused("kwp-zero-pads", "\"kwp-zero-pads\" is measured when keyward connects");
    refused("-value-len-zero", "\"-value-len-zero\" is measured when keyward connects");
    refused("login-guard, none", "\"none\" must be the first word");
    refused("auto auto", "\"auto\" must be the first word");
    refused("login-guard -login-guard", "\"-login-guard\" names a quirk already named");
    refused("reconnect-after", "\"reconnect-after\" needs a whole number: reconnect-after=N");
    refused("reconnect-after=", "needs a whole number");
    refused("reconnect-after=-5", "needs a whole number");
    refused("reconnect-after=1e6", "needs a whole number");
    refused("reconnect-after=99999999999999999999", "needs a whole number");
    refused("login-guard=1", "\"login-guard=1\" takes no value");
    refused("-reconnect-after=5", "takes no value");
}

TEST_CASE("the settings say which quirks keyward.conf names") {
    auto settings = parse_quirks("none, reconnect-after=7, -login-guard");
    REQUIRE(settings.ok());
    CHECK_FALSE(settings->detect);
    CHECK(settings->sets("reconnect-after"));
    CHECK(settings->sets("login-guard"));
    CHECK_FALSE(settings->sets("startup-retries"));
}

TEST_CASE("measured quirks are named after the configured ones") {
    Quirks q;
    q.pad_as_kwp = true;
    q.kwp_zero_pads = true;
    q.value_len_zero = true;
    q.modifiable_keks = true;
    CHECK(q.names() == Names{"pad-as-kwp", "modifiable-keks", "kwp-zero-pads", "value-len-zero"});
}
