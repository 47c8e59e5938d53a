// SPDX-License-Identifier: Apache-2.0
// Envelopes on a real SoftHSM token: both suites end to end through the public API, Botan (an
// independent implementation) decoding what keyward wrote with a test-only KEK of known value,
// and the test vectors of docs/FORMAT.md checked against that file.
#include <botan/aead.h>
#include <botan/block_cipher.h>
#include <botan/nist_keywrap.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/assemble.hpp"
#include "core/clock.hpp"
#include "crypto/aes_gcm.hpp"
#include "crypto/aes_kwp.hpp"
#include "crypto/envelope_codec.hpp"
#include "keyward/keyward.hpp"
#include "p11/attributes.hpp"
#include "p11/rv.hpp"
#include "store/sqlite_store.hpp"
#include "support/p11_test_helpers.hpp"
#include "support/secret_text.hpp"
#include "support/softhsm_token.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using keyward::test::from_hex;
using keyward::test::str;

namespace {

// A fixed, public KEK value: test-only, so that Botan and docs/FORMAT.md can reproduce bytes.
const Bytes kTestKek = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");

struct TokenFixture {
    test::SoftHsmToken token{"kw-env"};
    p11::P11Hsm* hsm = nullptr;
    core::Store* store = nullptr;
    std::unique_ptr<Keyward> kw;
    std::unique_ptr<test::RawToken> raw;

    TokenFixture() {
        auto dir = test::fresh_dir("envelope-softhsm");
        auto h = token.connect_with_known_keks();  // add_known_kek imports KEKs
        hsm = h.get();
        auto s = store::SqliteStore::open(dir / "k.db", store::Database::Mode::create_if_missing);
        REQUIRE(s.ok());
        store = s->get();
        auto k = core::assemble(std::move(h), std::move(*s), Config{});
        REQUIRE(k.ok());
        kw = std::move(*k);
        raw = std::make_unique<test::RawToken>(token);
    }

    // Puts a token KEK of known value in the token (C_CreateObject, so the test knows it; a
    // real keyward KEK is generated inside and never known) and records it as keyring `name`.
    void add_known_kek(const std::string& name, Suite suite) {
        const std::string label = kek_label(name, 1);
        const bool kwp = suite == Suite::kwp;
        p11::Template t;
        t.add_ulong(CKA_CLASS, CKO_SECRET_KEY)
            .add_ulong(CKA_KEY_TYPE, CKK_AES)
            .add_bytes(CKA_VALUE, kTestKek)
            .add_string(CKA_LABEL, label)
            .add_bytes(CKA_ID, Bytes{0x7e, 0x57})
            .add_bool(CKA_TOKEN, true)
            .add_bool(CKA_PRIVATE, true)
            .add_bool(CKA_SENSITIVE, true)
            .add_bool(CKA_EXTRACTABLE, false)
            .add_bool(CKA_WRAP, kwp)
            .add_bool(CKA_UNWRAP, kwp)
            .add_bool(CKA_ENCRYPT, !kwp)
            .add_bool(CKA_DECRYPT, !kwp);
        CK_OBJECT_HANDLE h = 0;
        auto attrs = t.span();
        auto rv = raw->f()->C_CreateObject(raw->h(), const_cast<CK_ATTRIBUTE*>(attrs.data()),
                                           static_cast<CK_ULONG>(attrs.size()), &h);
        REQUIRE(rv == CKR_OK);
        auto check = hsm->check_value({label, suite});
        REQUIRE(check.ok());
        core::KeyringRow ring{name, suite, core::utc_now_iso8601(), 365, {}};
        core::KekVersionRow v;
        v.keyring = name;
        v.version = 1;
        v.state = KekState::active;
        v.label = label;
        v.object_id = {0x7e, 0x57};
        v.check_value = *check;
        v.created_at = ring.created_at;
        ring.versions.push_back(v);
        REQUIRE(store->create_keyring(ring).ok());
    }
};

// Decodes an envelope with Botan only (plus the spec): no keyward crypto involved.
std::string botan_open(const Bytes& env, const std::string& context) {
    const std::size_t n = env[5];
    const std::size_t w = (std::size_t{env[10 + n]} << 8) | env[11 + n];
    const std::size_t hdr = 12 + n;
    Bytes wrapped(env.begin() + static_cast<long>(hdr), env.begin() + static_cast<long>(hdr + w));
    Botan::secure_vector<uint8_t> dek;
    if (env[4] == 1) {
        auto aes = Botan::BlockCipher::create_or_throw("AES-256");
        aes->set_key(kTestKek);
        dek = Botan::nist_key_unwrap_padded(wrapped.data(), wrapped.size(), *aes);
    } else {
        auto gcm = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::DECRYPTION);
        gcm->set_key(kTestKek);
        Bytes aad = {0x4B, 0x57, 0x45, 0x01, 0x02};
        aad.insert(aad.end(), env.begin() + 5, env.begin() + static_cast<long>(10 + n));
        gcm->set_associated_data(aad.data(), aad.size());
        gcm->start(wrapped.data(), 12);
        dek.assign(wrapped.begin() + 12, wrapped.end());
        gcm->finish(dek);
    }
    auto gcm = Botan::AEAD_Mode::create_or_throw("AES-256/GCM", Botan::DECRYPTION);
    gcm->set_key(dek);
    Bytes aad = {env[0],
                 env[1],
                 env[2],
                 env[3],
                 env[4],
                 static_cast<uint8_t>(context.size() >> 24),
                 static_cast<uint8_t>(context.size() >> 16),
                 static_cast<uint8_t>(context.size() >> 8),
                 static_cast<uint8_t>(context.size())};
    aad.insert(aad.end(), context.begin(), context.end());
    gcm->set_associated_data(aad.data(), aad.size());
    gcm->start(env.data() + hdr + w, 12);
    Botan::secure_vector<uint8_t> body(env.begin() + static_cast<long>(hdr + w + 12), env.end());
    gcm->finish(body);
    return std::string(body.begin(), body.end());
}

// "key: value" lines of each "vector:" block in docs/FORMAT.md.
std::vector<std::map<std::string, std::string>> format_md_vectors() {
    const char* root = std::getenv("KEYWARD_SOURCE_ROOT");
    REQUIRE(root != nullptr);
    std::istringstream in(test::read_file(std::filesystem::path(root) / "docs" / "FORMAT.md"));
    std::vector<std::map<std::string, std::string>> out;
    std::string line;
    while (std::getline(in, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos || line.empty() || line[0] == ' ' || line[0] == '|')
            continue;
        std::string key = line.substr(0, colon);
        if (key.find(' ') != std::string::npos || key.find('`') != std::string::npos) continue;
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (key == "vector") out.emplace_back();
        if (!out.empty()) out.back()[key] = value;
    }
    return out;
}

}  // namespace

TEST_CASE("envelopes sealed on SoftHSM open again, on both suites") {
    TokenFixture f;
    REQUIRE(f.kw->create_keyring("s1").ok());
    REQUIRE(f.kw->create_keyring("s2", Suite::gcm).ok());
    for (const char* ring : {"s1", "s2"}) {
        for (std::size_t len : {0u, 1u, 256u, 100000u}) {
            std::string pt(len, 'p');
            auto env = f.kw->seal(ring, as_bytes(pt), as_bytes(std::string_view("ctx")));
            REQUIRE(env.ok());
            auto back = f.kw->open(*env, as_bytes(std::string_view("ctx")));
            REQUIRE(back.ok());
            CHECK(str(*back) == pt);
            auto wrong = f.kw->open(*env, as_bytes(std::string_view("ctx2")));
            CHECK(wrong.error().code() == Errc::auth_failed);
        }
    }
}

TEST_CASE("a tampered wrapped DEK is authentication failed on the token, for both suites") {
    TokenFixture f;
    REQUIRE(f.kw->create_keyring("t1").ok());
    REQUIRE(f.kw->create_keyring("t2", Suite::gcm).ok());
    for (const char* ring : {"t1", "t2"}) {
        auto env = f.kw->seal(ring, as_bytes(std::string_view("x")));
        REQUIRE(env.ok());
        auto parsed = crypto::parse_envelope(*env);
        const std::size_t start = 12 + 2;
        for (std::size_t i = start; i < start + parsed->header.wrapped_dek.size(); ++i) {
            Bytes bad = *env;
            bad[i] ^= 0x80;
            auto r = f.kw->open(bad, {});
            INFO(ring << " byte " << i);
            REQUIRE_FALSE(r.ok());
            CHECK(r.error().code() == Errc::auth_failed);
            CHECK(r.error().message() == "authentication failed");
        }
    }
}

TEST_CASE("Botan decodes envelopes that keyward sealed with a known test KEK, both suites") {
    TokenFixture f;
    f.add_known_kek("botan1", Suite::kwp);
    f.add_known_kek("botan2", Suite::gcm);
    for (const char* ring : {"botan1", "botan2"}) {
        for (std::size_t len : {0u, 17u, 4096u}) {
            std::string pt(len, 'b');
            for (std::size_t i = 0; i < len; ++i) pt[i] = static_cast<char>('a' + i % 26);
            auto env = f.kw->seal(ring, as_bytes(pt), as_bytes(std::string_view("record:x/y#1")));
            REQUIRE(env.ok());
            INFO(ring << " " << len);
            CHECK(botan_open(*env, "record:x/y#1") == pt);
        }
    }
}

TEST_CASE("a data key blob unwraps in Botan to the key keyward returned") {
    TokenFixture f;
    f.add_known_kek("botandk", Suite::kwp);
    for (std::size_t n : {16u, 24u, 32u, 40u, 64u}) {
        auto dk = f.kw->generate_data_key("botandk", n);
        REQUIRE(dk.ok());
        auto parsed = crypto::parse_data_key_blob(dk->blob);
        auto aes = Botan::BlockCipher::create_or_throw("AES-256");
        aes->set_key(kTestKek);
        auto key = Botan::nist_key_unwrap_padded(parsed->wrapped_dek.data(),
                                                 parsed->wrapped_dek.size(), *aes);
        CHECK(Bytes(key.begin(), key.end()) == Bytes(dk->key.begin(), dk->key.end()));
    }
}

TEST_CASE("the test vectors in docs/FORMAT.md are what keyward and the token produce") {
    TokenFixture f;
    f.add_known_kek("vectors", Suite::kwp);
    f.add_known_kek("vectors2", Suite::gcm);
    auto vectors = format_md_vectors();
    REQUIRE(vectors.size() == 3);
    for (auto& v : vectors) {
        INFO("vector " << v["vector"]);
        REQUIRE(from_hex(v["kek"]) == kTestKek);
        const Bytes dek = from_hex(v["dek"]);
        const Bytes expected = from_hex(v["bytes"]);
        const std::string keyring = v["keyring"];
        const Suite suite = v["suite"] == "2" ? Suite::gcm : Suite::kwp;
        // The token wraps deterministically for suite 1; suite 2 takes the documented IV.
        Bytes wrapped;
        if (suite == Suite::kwp) {
            wrapped = *crypto::aes_kwp_wrap(kTestKek, dek);
            auto in_token = f.hsm->wrap_dek({kek_label(keyring, 1), suite}, dek, {});
            REQUIRE(in_token.ok());
            CHECK(*in_token == wrapped);
        } else {
            Bytes iv = from_hex(v["dek_iv"]);
            auto sealed =
                crypto::aes256gcm_seal(kTestKek, iv, crypto::gcm_dek_wrap_aad(keyring, 1), dek);
            wrapped = iv;
            wrapped.insert(wrapped.end(), sealed->begin(), sealed->end());
        }
        crypto::KeyHeader header{suite, keyring, 1, wrapped};
        const bool is_data_key = v["vector"].find("data-key") != std::string::npos;
        Bytes built;
        if (is_data_key) {
            built = *crypto::serialize_data_key_blob(header);
        } else {
            const Bytes nonce = from_hex(v["nonce"]);
            auto body = crypto::aes256gcm_seal(dek, nonce,
                                               crypto::payload_aad(suite, as_bytes(v["context"])),
                                               as_bytes(v["plaintext"]));
            ByteView b(*body);
            built = *crypto::serialize_envelope(header, nonce, b.first(b.size() - 16), b.last(16));
        }
        const auto prefix = is_data_key ? kDataKeyTextPrefix : kEnvelopeTextPrefix;
        if (std::getenv("KEYWARD_PRINT_VECTORS") != nullptr) {
            std::cout << "vector: " << v["vector"] << "\nbytes: " << to_hex(built)
                      << "\ntext: " << crypto::to_text(prefix, built) << "\n";
        }
        CHECK(built == expected);
        CHECK(crypto::to_text(prefix, built) == v["text"]);

        // keyward on the token, and Botan, read the documented bytes.
        if (is_data_key) {
            auto back = f.kw->decrypt_data_key(expected);
            REQUIRE(back.ok());
            CHECK(Bytes(back->begin(), back->end()) == dek);
        } else {
            auto opened = f.kw->open(expected, as_bytes(v["context"]));
            REQUIRE(opened.ok());
            CHECK(str(*opened) == v["plaintext"]);
            CHECK(botan_open(expected, v["context"]) == v["plaintext"]);
        }
    }
}
