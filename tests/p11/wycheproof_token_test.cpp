// SPDX-License-Identifier: Apache-2.0
// Project Wycheproof AES-GCM and AES-KWP vectors (tests/vectors/wycheproof) run inside the
// token: each test key is imported as a session object (C_CreateObject) and used with
// C_Encrypt/C_Decrypt or C_WrapKey/C_UnwrapKey. Vectors outside what keyward asks of a token are
// counted as skipped, by reason.
#include "support/catch_errc.hpp"

#include <iostream>
#include <map>

#include "p11/key_ops.hpp"
#include "p11/pkcs11.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"
#include "support/test_env.hpp"
#include "support/wycheproof.hpp"

using keyward::Bytes;
using keyward::Errc;
using keyward::test::describe;
using keyward::test::from_hex;
using keyward::test::load_vectors;
using keyward::test::plain;
using keyward::test::RawToken;
using keyward::test::SoftHsmToken;
namespace p11 = keyward::p11;

namespace {

Bytes concat(const Bytes& a, const Bytes& b) {
    Bytes out = a;
    out.insert(out.end(), b.begin(), b.end());
    return out;
}

void print_counts(const char* what, const std::map<std::string, int>& counts) {
    std::cerr << "[p11 wycheproof] " << what << ":";
    for (const auto& [k, v] : counts) std::cerr << " " << k << "=" << v;
    std::cerr << "\n";
}

}  // namespace

TEST_CASE("the token's AES-GCM matches every Wycheproof vector with a 96-bit IV and 128-bit tag") {
    SoftHsmToken token("kw-wp-gcm");
    auto hsm = token.connect();  // keeps the token logged in for the raw session
    RawToken raw(token);
    const nlohmann::json doc = load_vectors("aes_gcm_test.json");
    const auto declared = doc.at("numberOfTests").get<std::int64_t>();

    std::map<std::string, int> counts;
    int seen = 0;
    for (const nlohmann::json& group : doc.at("testGroups")) {
        const auto iv_bits = group.at("ivSize").get<std::int64_t>();
        const auto tag_bits = group.at("tagSize").get<std::int64_t>();
        for (const nlohmann::json& t : group.at("tests")) {
            ++seen;
            INFO(describe(t));
            // keyward only ever asks a token for 96-bit IVs and 128-bit tags (docs/FORMAT.md).
            if (iv_bits != 96) {
                ++counts["skipped: IV not 96 bits"];
                continue;
            }
            if (tag_bits != 128) {
                ++counts["skipped: tag not 128 bits"];
                continue;
            }
            const Bytes key = from_hex(t.at("key").get<std::string>()),
                        iv = from_hex(t.at("iv").get<std::string>()),
                        aad = from_hex(t.at("aad").get<std::string>()),
                        msg = from_hex(t.at("msg").get<std::string>()),
                        ct = from_hex(t.at("ct").get<std::string>()),
                        tag = from_hex(t.at("tag").get<std::string>());
            auto k = p11::import_session_key(raw.session(), key, p11::KeyUse::aes_encryption_key);
            REQUIRE(k.ok());
            const std::string result = t.at("result").get<std::string>();
            if (result == "valid") {
                Bytes iv_io = iv;
                auto sealed = p11::gcm_encrypt(raw.session(), k->handle(), iv_io, aad, msg);
                REQUIRE(sealed.ok());
                CHECK(iv_io == iv);
                CHECK(*sealed == concat(ct, tag));
                auto opened =
                    p11::gcm_decrypt(raw.session(), k->handle(), iv, aad, concat(ct, tag));
                REQUIRE(opened.ok());
                CHECK(plain(*opened) == msg);
                ++counts["valid"];
            } else {
                REQUIRE(result == "invalid");
                auto opened =
                    p11::gcm_decrypt(raw.session(), k->handle(), iv, aad, concat(ct, tag));
                REQUIRE_FALSE(opened.ok());
                CHECK(opened.error().code() == Errc::auth_failed);
                CHECK(opened.error().message() == "authentication failed");
                ++counts["invalid rejected"];
            }
        }
    }
    print_counts("aes_gcm_test.json", counts);
    CHECK(seen == declared);
    CHECK(counts["valid"] + counts["invalid rejected"] + counts["skipped: IV not 96 bits"] +
              counts["skipped: tag not 128 bits"] ==
          seen);
    CHECK(counts["valid"] > 100);
    CHECK(counts["invalid rejected"] > 50);
}

TEST_CASE("the token's RFC 5649 key wrap matches every applicable Wycheproof KWP vector") {
    SoftHsmToken token("kw-wp-kwp");
    auto hsm = token.connect();
    const CK_MECHANISM_TYPE mech = hsm->suite1_mechanism_name() == "CKM_AES_KEY_WRAP_KWP"
                                       ? p11::kMechAesKeyWrapKwp
                                       : p11::kMechAesKeyWrapPad;
    const bool wraps_any_length = hsm->suite1_wraps_any_length();
    RawToken raw(token);
    const nlohmann::json doc = load_vectors("aes_kwp_test.json");
    const auto declared = doc.at("numberOfTests").get<std::int64_t>();

    std::map<std::string, int> counts;
    int seen = 0;
    for (const nlohmann::json& group : doc.at("testGroups")) {
        for (const nlohmann::json& t : group.at("tests")) {
            ++seen;
            INFO(describe(t));
            const Bytes key = from_hex(t.at("key").get<std::string>()),
                        msg = from_hex(t.at("msg").get<std::string>()),
                        ct = from_hex(t.at("ct").get<std::string>());
            auto kek = p11::import_session_key(raw.session(), key, p11::KeyUse::aes_wrapping_key);
            REQUIRE(kek.ok());
            const std::string result = t.at("result").get<std::string>();
            if (result == "valid") {
                if (msg.empty()) {
                    ++counts["skipped: empty msg cannot be a key object"];
                    continue;
                }
                auto unwrapped = p11::unwrap_key(raw.session(), mech, kek->handle(), ct, false);
                REQUIRE(unwrapped.ok());
                auto value = p11::read_key_value(raw.session(), unwrapped->handle(), ct.size());
                REQUIRE(value.ok());
                CHECK(plain(*value) == msg);
                ++counts["valid unwrapped"];

                if (msg.size() % 8 != 0 && !wraps_any_length) {
                    // SoftHSM 2.6.1 zero-pads the key before wrapping: not RFC 5649 here, and
                    // P11Hsm refuses such lengths for that reason.
                    ++counts["wrap skipped: token pads lengths not a multiple of 8"];
                    continue;
                }
                auto data = p11::import_session_key(raw.session(), msg, p11::KeyUse::data_key);
                REQUIRE(data.ok());
                auto wrapped =
                    p11::wrap_key(raw.session(), mech, kek->handle(), data->handle(), ct.size());
                REQUIRE(wrapped.ok());
                CHECK(*wrapped == ct);
                ++counts["valid wrapped"];
            } else {
                REQUIRE(result == "invalid");
                auto unwrapped = p11::unwrap_key(raw.session(), mech, kek->handle(), ct, false);
                REQUIRE_FALSE(unwrapped.ok());
                CHECK(unwrapped.error().code() == Errc::auth_failed);
                CHECK(unwrapped.error().message() == "authentication failed");
                ++counts["invalid rejected"];
            }
        }
    }
    print_counts("aes_kwp_test.json", counts);
    CHECK(seen == declared);
    CHECK(counts["valid unwrapped"] + counts["invalid rejected"] +
              counts["skipped: empty msg cannot be a key object"] ==
          seen);
    CHECK(counts["valid unwrapped"] == 77);
    CHECK(counts["invalid rejected"] == 177);
}
