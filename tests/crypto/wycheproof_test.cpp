// SPDX-License-Identifier: Apache-2.0
// Project Wycheproof vectors (tests/vectors/wycheproof) against keyward's host AES-GCM and
// AES-KWP: every vector is run or counted as skipped with its reason, and the counts are printed.
#include <iostream>
#include <map>
#include <string>

#include "crypto/aes_gcm.hpp"
#include "crypto/aes_kwp.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "support/wycheproof.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::code_of;
using keyward::test::concat;
using keyward::test::describe;
using keyward::test::hx;
using keyward::test::load_vectors;
using keyward::test::plain;

TEST_CASE("every Wycheproof AES-GCM vector opens or is refused exactly as labelled",
          "[wycheproof][gcm]") {
    const nlohmann::json doc = load_vectors("aes_gcm_test.json");
    REQUIRE(doc.at("algorithm").get<std::string>() == "AES-GCM");
    const auto declared = doc.at("numberOfTests").get<std::int64_t>();

    int seen = 0, processed = 0, valid = 0, invalid = 0, acceptable = 0, acceptable_ok = 0;
    int sealed = 0;           // also re-encrypted through aes256gcm_seal and compared
    int skipped_tag = 0;      // tag not 128 bits: keyward has no shorter tags
    int skipped_long_iv = 0;  // IV longer than OpenSSL accepts (128 bytes in OpenSSL 3.0)
    for (const nlohmann::json& group : doc.at("testGroups")) {
        const auto key_bits = group.at("keySize").get<std::int64_t>();
        const auto iv_bits = group.at("ivSize").get<std::int64_t>();
        const auto tag_bits = group.at("tagSize").get<std::int64_t>();
        for (const nlohmann::json& t : group.at("tests")) {
            ++seen;
            INFO(describe(t));
            if (tag_bits != 128) {
                ++skipped_tag;
                continue;
            }
            const Bytes key = hx(t.at("key").get<std::string>()),
                        iv = hx(t.at("iv").get<std::string>()),
                        aad = hx(t.at("aad").get<std::string>()),
                        msg = hx(t.at("msg").get<std::string>()),
                        ct = hx(t.at("ct").get<std::string>()),
                        tag = hx(t.at("tag").get<std::string>());
            REQUIRE(key.size() * 8 == static_cast<std::size_t>(key_bits));
            REQUIRE(iv.size() * 8 == static_cast<std::size_t>(iv_bits));
            const std::string& result = t.at("result").get<std::string>();

            auto opened = aes_gcm_open_any_iv(key, iv, aad, ct, tag);
            if (code_of(opened) == Errc::unsupported) {
                // Only a valid vector may be skipped this way, and only for a very long IV.
                REQUIRE(result == "valid");
                REQUIRE(iv.size() > 128);
                ++skipped_long_iv;
                continue;
            }
            ++processed;
            // The seal path exists only for the parameters keyward writes: AES-256, 96-bit IV.
            const bool sealable = key_bits == 256 && iv_bits == 96;
            if (result == "valid") {
                ++valid;
                REQUIRE(code_of(opened) == Errc::ok);
                CHECK(plain(*opened) == msg);
                if (sealable) {
                    ++sealed;
                    auto s = aes256gcm_seal(key, iv, aad, msg);
                    REQUIRE(code_of(s) == Errc::ok);
                    CHECK(*s == concat({ct, tag}));
                }
            } else if (result == "invalid") {
                ++invalid;
                REQUIRE(code_of(opened) == Errc::auth_failed);
                CHECK(opened.error().message() == "authentication failed");
                if (sealable) {
                    ++sealed;
                    auto s = aes256gcm_seal(key, iv, aad, msg);
                    REQUIRE(code_of(s) == Errc::ok);
                    CHECK(*s != concat({ct, tag}));
                }
            } else {
                REQUIRE(result == "acceptable");
                ++acceptable;
                if (opened.ok()) {
                    ++acceptable_ok;
                    CHECK(plain(*opened) == msg);
                } else {
                    CHECK(code_of(opened) == Errc::auth_failed);
                }
            }
        }
    }
    const int skipped = skipped_tag + skipped_long_iv;
    std::cout << "Wycheproof AES-GCM: " << declared << " vectors, " << processed << " run ("
              << valid << " valid, " << invalid << " invalid, " << acceptable
              << " acceptable of which " << acceptable_ok << " opened; " << sealed
              << " also sealed), " << skipped << " skipped (" << skipped_tag
              << " tag size not 128 bits, " << skipped_long_iv
              << " IV longer than OpenSSL's 128 bytes)\n";
    if (skipped > 0) {
        WARN("Wycheproof AES-GCM: skipped " << skipped << " vectors outside what keyward and "
                                            << "OpenSSL represent (" << skipped_long_iv
                                            << " with IVs over 128 bytes)");
    }
    CHECK(seen == declared);
    REQUIRE(processed == declared - skipped);
    // This file (commit dac1dd4) has 316 vectors: 229 valid, 87 invalid, 3 of the valid ones
    // with 2056-bit IVs that OpenSSL 3.0 cannot take.
    CHECK(declared == 316);
    CHECK(valid == 226);
    CHECK(invalid == 87);
    CHECK(skipped_long_iv == 3);
    CHECK(skipped_tag == 0);
}

TEST_CASE("every Wycheproof AES-KWP vector wraps and unwraps or is refused exactly as labelled",
          "[wycheproof][kwp]") {
    const nlohmann::json doc = load_vectors("aes_kwp_test.json");
    REQUIRE(doc.at("algorithm").get<std::string>() == "AES-KWP");
    const auto declared = doc.at("numberOfTests").get<std::int64_t>();

    int processed = 0, valid = 0, invalid = 0, acceptable = 0, wrap_refused = 0;
    for (const nlohmann::json& group : doc.at("testGroups")) {
        const auto key_bits = group.at("keySize").get<std::int64_t>();
        for (const nlohmann::json& t : group.at("tests")) {
            INFO(describe(t));
            const Bytes kek = hx(t.at("key").get<std::string>()),
                        msg = hx(t.at("msg").get<std::string>()),
                        ct = hx(t.at("ct").get<std::string>());
            REQUIRE(kek.size() * 8 == static_cast<std::size_t>(key_bits));
            const std::string& result = t.at("result").get<std::string>();
            ++processed;

            auto unwrapped = aes_kwp_unwrap(kek, ct);
            auto wrapped = aes_kwp_wrap(kek, msg);
            if (result == "valid") {
                ++valid;
                REQUIRE(code_of(unwrapped) == Errc::ok);
                CHECK(plain(*unwrapped) == msg);
                REQUIRE(code_of(wrapped) == Errc::ok);
                CHECK(*wrapped == ct);
            } else if (result == "invalid") {
                ++invalid;
                REQUIRE(code_of(unwrapped) == Errc::auth_failed);
                CHECK(unwrapped.error().message() == "authentication failed");
                // Wrapping the stated key either is refused (an empty key cannot be wrapped)
                // or gives the correct blob, which is not the invalid one.
                if (msg.empty()) {
                    ++wrap_refused;
                    CHECK(code_of(wrapped) == Errc::failed);
                } else {
                    REQUIRE(code_of(wrapped) == Errc::ok);
                    CHECK(*wrapped != ct);
                }
            } else {
                REQUIRE(result == "acceptable");
                ++acceptable;
                if (!unwrapped.ok()) CHECK(code_of(unwrapped) == Errc::auth_failed);
            }
        }
    }
    std::cout << "Wycheproof AES-KWP: " << declared << " vectors, " << processed << " run ("
              << valid << " valid, " << invalid << " invalid of which " << wrap_refused
              << " with an empty key that wrap refuses, " << acceptable
              << " acceptable), 0 skipped\n";
    REQUIRE(processed == declared);
    CHECK(declared == 254);
    CHECK(valid == 77);
    CHECK(invalid == 177);
}
