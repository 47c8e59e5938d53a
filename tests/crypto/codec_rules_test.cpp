// SPDX-License-Identifier: Apache-2.0
// Every reader rule of docs/FORMAT.md for envelopes and data key blobs with its own error
// code: each rule alone, their order, truncation at every length, every single-bit flip of the
// header, and one-line error messages that never echo input bytes.
#include <algorithm>
#include <string>
#include <vector>

#include "codec_parts.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::blob_parts;
using keyward::test::build_blob;
using keyward::test::build_envelope;
using keyward::test::build_header;
using keyward::test::code_of;
using keyward::test::concat;
using keyward::test::header_of;
using keyward::test::hx;
using keyward::test::Parts;
using keyward::test::same_header;
using keyward::test::seq;
using keyward::test::to_bytes;

// ---------------------------------------------------------------------------------------------
// Reader rules, one test each, envelopes

TEST_CASE("an envelope with a wrong magic is bad_magic", "[codec][rules]") {
    for (std::size_t i = 0; i < 3; ++i) {
        for (int v = 0; v < 256; ++v) {
            Parts p;
            if (v == p.magic[i]) continue;
            p.magic[i] = static_cast<std::uint8_t>(v);
            CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::bad_magic);
        }
    }
    // A data key blob, and the text form, are not binary envelopes.
    CHECK(code_of(parse_envelope(build_blob(blob_parts()))) == Errc::bad_magic);
    const std::string text = to_text(kEnvelopeTextPrefix, build_envelope(Parts{}));
    CHECK(code_of(parse_envelope(as_bytes(text))) == Errc::bad_magic);
}

TEST_CASE("an envelope of another format version is unsupported_format_version", "[codec][rules]") {
    for (int v = 0; v < 256; ++v) {
        if (v == 1) continue;
        Parts p;
        p.magic[3] = static_cast<std::uint8_t>(v);
        CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::unsupported_format_version);
    }
}

TEST_CASE("an envelope with a suite other than 1 or 2 is unknown_suite", "[codec][rules]") {
    for (int v = 0; v < 256; ++v) {
        Parts p;
        p.suite = static_cast<std::uint8_t>(v);
        if (v == 2) p.wrapped = seq(0, 60);
        const Errc want = (v == 1 || v == 2) ? Errc::ok : Errc::unknown_suite;
        CHECK(code_of(parse_envelope(build_envelope(p))) == want);
    }
}

TEST_CASE("an envelope keyring length of 0 or above 64 is bad_keyring_length", "[codec][rules]") {
    for (int n = 0; n < 256; ++n) {
        Parts p;
        // Fill the name with as many valid characters as n says, so only the length can fail.
        p.keyring = std::string(static_cast<std::size_t>(n), 'k');
        const Errc want = (n >= 1 && n <= 64) ? Errc::ok : Errc::bad_keyring_length;
        CAPTURE(n);
        CHECK(code_of(parse_envelope(build_envelope(p))) == want);
    }
}

TEST_CASE("an envelope keyring name outside [a-z0-9][a-z0-9._-]* is bad_keyring_name",
          "[codec][rules]") {
    auto start_ok = [](int c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    auto rest_ok = [&](int c) { return start_ok(c) || c == '.' || c == '_' || c == '-'; };
    for (int c = 0; c < 256; ++c) {
        CAPTURE(c);
        Parts first;
        first.keyring = std::string(1, static_cast<char>(c)) + "allets";
        CHECK(code_of(parse_envelope(build_envelope(first))) ==
              (start_ok(c) ? Errc::ok : Errc::bad_keyring_name));
        Parts middle;
        middle.keyring = "wal" + std::string(1, static_cast<char>(c)) + "ets";
        CHECK(code_of(parse_envelope(build_envelope(middle))) ==
              (rest_ok(c) ? Errc::ok : Errc::bad_keyring_name));
        Parts last;
        last.keyring = std::string(63, 'w') + std::string(1, static_cast<char>(c));
        CHECK(code_of(parse_envelope(build_envelope(last))) ==
              (rest_ok(c) ? Errc::ok : Errc::bad_keyring_name));
    }
}

TEST_CASE("an envelope naming KEK version 0 is bad_kek_version", "[codec][rules]") {
    Parts p;
    p.version = 0;
    CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::bad_kek_version);
    for (std::uint32_t v : {1u, 2u, 0x100u, 0x01000000u, 0xFFFFFFFFu}) {
        p.version = v;
        auto r = parse_envelope(build_envelope(p));
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->header.kek_version == v);
    }
}

TEST_CASE(
    "an envelope wrapped DEK length other than 40 for suite 1 or 60 for suite 2 is "
    "bad_wrapped_dek_length",
    "[codec][rules]") {
    for (int suite : {1, 2}) {
        const std::size_t good = suite == 1 ? 40 : 60;
        for (std::uint32_t w = 0; w <= 0xFFFF; w = w < 300 ? w + 1 : w * 2 + 1) {
            CAPTURE(suite, w);
            Parts p;
            p.suite = static_cast<std::uint8_t>(suite);
            p.w = static_cast<std::uint16_t>(w);
            p.wrapped = seq(0, good);  // the bytes a correct header would carry
            CHECK(code_of(parse_envelope(build_envelope(p))) ==
                  (w == good ? Errc::ok : Errc::bad_wrapped_dek_length));
        }
    }
}

TEST_CASE("an envelope that ends inside its header is truncated", "[codec][rules]") {
    const Bytes header = build_header(Parts{});
    for (std::size_t len = 0; len < header.size(); ++len) {
        CAPTURE(len);
        CHECK(code_of(parse_envelope(ByteView(header).first(len))) == Errc::truncated);
    }
}

TEST_CASE("an envelope with fewer than 28 bytes after the header is too_short", "[codec][rules]") {
    const Bytes header = build_header(Parts{});
    for (std::size_t extra = 0; extra < 28; ++extra) {
        CAPTURE(extra);
        const Bytes env = concat({header, seq(0x40, extra)});
        CHECK(code_of(parse_envelope(env)) == Errc::too_short);
    }
    auto r = parse_envelope(concat({header, seq(0x40, 28)}));
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->ciphertext.empty());
    CHECK(to_bytes(r->nonce) == seq(0x40, 12));
    CHECK(to_bytes(r->tag) == seq(0x4C, 16));
}

TEST_CASE("short inputs are judged by the magic bytes they do have", "[codec][rules]") {
    struct Case {
        const char* hex;
        Errc envelope;
        Errc blob;
    };
    const Case cases[] = {
        {"", Errc::truncated, Errc::truncated},
        {"4b", Errc::truncated, Errc::truncated},
        {"4b57", Errc::truncated, Errc::truncated},
        {"4b5745", Errc::truncated, Errc::bad_magic},
        {"4b574b", Errc::bad_magic, Errc::truncated},
        {"00", Errc::bad_magic, Errc::bad_magic},
        {"6b", Errc::bad_magic, Errc::bad_magic},  // "k" of the text form
        {"4b00", Errc::bad_magic, Errc::bad_magic},
        {"4b5700", Errc::bad_magic, Errc::bad_magic},
        {"4b574502", Errc::unsupported_format_version, Errc::bad_magic},
        {"4b574b02", Errc::bad_magic, Errc::unsupported_format_version},
        {"4b574501", Errc::truncated, Errc::bad_magic},
        {"4b574b01", Errc::bad_magic, Errc::truncated},
        {"4b57450103", Errc::unknown_suite, Errc::bad_magic},
        {"4b57450101", Errc::truncated, Errc::bad_magic},
        {"4b5745010100", Errc::bad_keyring_length, Errc::bad_magic},
        {"4b5745010141", Errc::bad_keyring_length, Errc::bad_magic},
        {"4b574501010741", Errc::bad_keyring_name, Errc::bad_magic},  // 'A' checked before the end
        {"4b57450101077761", Errc::truncated, Errc::bad_magic},
        {"4b5745010107776120", Errc::bad_keyring_name, Errc::bad_magic},  // ' ' at position 2
        {"4b5745010101770000", Errc::truncated, Errc::bad_magic},         // inside the version
        {"4b57450101017700000000", Errc::bad_kek_version, Errc::bad_magic},
        {"4b574501010177000000010028", Errc::truncated, Errc::bad_magic},  // no wrapped DEK
        {"4b574501010177000000010029", Errc::bad_wrapped_dek_length, Errc::bad_magic},
    };
    for (const auto& c : cases) {
        CAPTURE(c.hex);
        const Bytes in = hx(c.hex);
        CHECK(code_of(parse_envelope(in)) == c.envelope);
        CHECK(code_of(parse_data_key_blob(in)) == c.blob);
    }
}

TEST_CASE("reader rules are reported in byte order: the first broken rule wins", "[codec][rules]") {
    Parts p;
    p.magic[3] = 2;
    p.suite = 9;
    p.n = 0;
    CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::unsupported_format_version);
    p.magic[3] = 1;
    CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::unknown_suite);
    p.suite = 1;
    CHECK(code_of(parse_envelope(build_envelope(p))) == Errc::bad_keyring_length);

    Parts q;
    q.keyring = "Wallets";
    q.version = 0;
    q.w = 7;
    CHECK(code_of(parse_envelope(build_envelope(q))) == Errc::bad_keyring_name);
    q.keyring = "wallets";
    CHECK(code_of(parse_envelope(build_envelope(q))) == Errc::bad_kek_version);
    q.version = 1;
    CHECK(code_of(parse_envelope(build_envelope(q))) == Errc::bad_wrapped_dek_length);

    // A bad name character is reported even when the input also ends inside the name.
    Parts r;
    r.keyring = "wallets";
    Bytes cut = build_header(r);
    cut[8] = 'A';
    CHECK(code_of(parse_envelope(ByteView(cut).first(10))) == Errc::bad_keyring_name);
    CHECK(code_of(parse_envelope(ByteView(cut).first(8))) == Errc::truncated);

    // Header faults come before size faults.
    Parts s;
    s.version = 0;
    s.ct = {};
    s.tag = {};
    CHECK(code_of(parse_envelope(build_envelope(s))) == Errc::bad_kek_version);
}

TEST_CASE(
    "cutting a short envelope at every length gives truncated inside the header and "
    "too_short after it",
    "[codec][rules]") {
    // The envelope with an empty ciphertext is 87 bytes (header 59, nonce 12, tag 16): every
    // proper prefix must be an error, never ok: truncated for L < 59, too_short for
    // 59 <= L < 87.
    Parts p;
    p.ct = {};
    const Bytes env = build_envelope(p);
    const std::size_t header_len = build_header(p).size();
    REQUIRE(header_len == 59);
    REQUIRE(env.size() == 87);
    for (std::size_t len = 0; len < env.size(); ++len) {
        CAPTURE(len);
        CHECK(code_of(parse_envelope(ByteView(env).first(len))) ==
              (len < header_len ? Errc::truncated : Errc::too_short));
    }
    // With a 5-byte ciphertext, prefixes of 87..91 bytes still hold a nonce and a tag after
    // the header: the codec cannot tell a cut ciphertext from a shorter one (the GCM tag
    // does), so they parse, with exactly L - 87 ciphertext bytes.
    const Bytes longer = build_envelope(Parts{});
    for (std::size_t len = 87; len < longer.size(); ++len) {
        CAPTURE(len);
        auto r = parse_envelope(ByteView(longer).first(len));
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->ciphertext.size() == len - 87);
    }
}

namespace {

// What a single-bit flip at (pos, bit) of the reference header (Parts{} with the given magic)
// must give. Documented per field:
//   0..2 magic "KWE"/"KWK"     bad_magic
//   3    format version        unsupported_format_version
//   4    suite 01              unknown_suite (no single flip of 01 gives 02)
//   5    n = 7                 6, 5, 3: the name ends early and the next fields are read from
//                              the shifted bytes; w then reads 3, 3, 0 -> bad_wrapped_dek_length;
//                              15, 23, 39: the name runs into the version's 00 bytes ->
//                              bad_keyring_name; 71, 135 -> bad_keyring_length
//   6..12  "wallets"           ok with that one character changed if it stays in the grammar,
//                              else bad_keyring_name
//   13..16 version 3           ok with version 3 ^ (flipped bit); no flip gives 0
//   17..18 w = 40              envelope: bad_wrapped_dek_length; blob: see below
//   19..58 wrapped DEK         ok with exactly that byte changed
// For a blob, w = 40 ^ 8 = 32 is a valid blob length, which leaves 8 bytes after the DEK
// (trailing_bytes), and 40 ^ 16 = 56 is valid but longer than the input (truncated).
struct FlipOutcome {
    Errc code;
    bool header_changes;  // when ok: the parsed header differs from the original
};

FlipOutcome expected_flip(std::size_t pos, int bit, bool blob) {
    const auto mask = static_cast<std::uint8_t>(1u << bit);
    const std::string name = "wallets";
    if (pos <= 2) return {Errc::bad_magic, false};
    if (pos == 3) return {Errc::unsupported_format_version, false};
    if (pos == 4) return {Errc::unknown_suite, false};
    if (pos == 5) {
        const int n = 7 ^ mask;
        if (n < 7) return {Errc::bad_wrapped_dek_length, false};
        if (n <= 64) return {Errc::bad_keyring_name, false};
        return {Errc::bad_keyring_length, false};
    }
    if (pos <= 12) {
        const auto c = static_cast<std::uint8_t>(name[pos - 6] ^ mask);
        const bool start = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        const bool ok = pos == 6 ? start : (start || c == '.' || c == '_' || c == '-');
        return {ok ? Errc::ok : Errc::bad_keyring_name, true};
    }
    if (pos <= 16) return {Errc::ok, true};
    if (pos <= 18) {
        if (blob && pos == 18 && mask == 8) return {Errc::trailing_bytes, false};
        if (blob && pos == 18 && mask == 16) return {Errc::truncated, false};
        return {Errc::bad_wrapped_dek_length, false};
    }
    return {Errc::ok, true};
}

}  // namespace

TEST_CASE(
    "every single-bit flip in an envelope header is refused with the error of its field "
    "or changes the parsed header",
    "[codec][flips]") {
    const Parts ref;
    const Bytes env = build_envelope(ref);
    const std::size_t header_len = build_header(ref).size();
    int refused = 0, changed = 0;
    for (std::size_t pos = 0; pos < header_len; ++pos) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(pos, bit);
            Bytes flipped = env;
            flipped[pos] = static_cast<std::uint8_t>(flipped[pos] ^ (1u << bit));
            const FlipOutcome want = expected_flip(pos, bit, false);
            auto r = parse_envelope(flipped);
            REQUIRE(code_of(r) == want.code);
            if (r.ok()) {
                ++changed;
                CHECK_FALSE(same_header(r->header, header_of(ref)));
                // Only the header moved: the payload fields are byte for byte the same.
                CHECK(to_bytes(r->nonce) == ref.nonce);
                CHECK(to_bytes(r->ciphertext) == ref.ct);
                CHECK(to_bytes(r->tag) == ref.tag);
            } else {
                ++refused;
            }
        }
    }
    CHECK(refused + changed == static_cast<int>(header_len) * 8);
}

TEST_CASE(
    "every single-bit flip in a data key blob is refused with the error of its field or "
    "changes the parsed header",
    "[codec][flips]") {
    const Parts ref = blob_parts();
    const Bytes blob = build_blob(ref);
    for (std::size_t pos = 0; pos < blob.size(); ++pos) {
        for (int bit = 0; bit < 8; ++bit) {
            CAPTURE(pos, bit);
            Bytes flipped = blob;
            flipped[pos] = static_cast<std::uint8_t>(flipped[pos] ^ (1u << bit));
            const FlipOutcome want = expected_flip(pos, bit, true);
            auto r = parse_data_key_blob(flipped);
            REQUIRE(code_of(r) == want.code);
            if (r.ok()) CHECK_FALSE(same_header(*r, header_of(ref)));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reader rules, data key blobs

TEST_CASE("a data key blob follows the header rules with its own magic", "[codec][rules][blob]") {
    CHECK(code_of(parse_data_key_blob(build_blob(blob_parts()))) == Errc::ok);

    Parts magic = blob_parts();
    magic.magic[2] = 0x45;  // the envelope magic
    CHECK(code_of(parse_data_key_blob(build_blob(magic))) == Errc::bad_magic);
    magic.magic = {0x4B, 0x57, 0x4B, 0x00};
    CHECK(code_of(parse_data_key_blob(build_blob(magic))) == Errc::unsupported_format_version);

    Parts suite = blob_parts();
    suite.suite = 3;
    CHECK(code_of(parse_data_key_blob(build_blob(suite))) == Errc::unknown_suite);

    Parts len0 = blob_parts();
    len0.n = 0;
    CHECK(code_of(parse_data_key_blob(build_blob(len0))) == Errc::bad_keyring_length);
    Parts len65 = blob_parts();
    len65.keyring = std::string(65, 'a');
    CHECK(code_of(parse_data_key_blob(build_blob(len65))) == Errc::bad_keyring_length);

    Parts name = blob_parts();
    name.keyring = "-wallets";
    CHECK(code_of(parse_data_key_blob(build_blob(name))) == Errc::bad_keyring_name);
    name.keyring = "wal/lets";
    CHECK(code_of(parse_data_key_blob(build_blob(name))) == Errc::bad_keyring_name);

    Parts version = blob_parts();
    version.version = 0;
    CHECK(code_of(parse_data_key_blob(build_blob(version))) == Errc::bad_kek_version);
}

TEST_CASE(
    "a data key blob accepts w of 24 to 72 in steps of 8 for suite 1 and only 60 for "
    "suite 2",
    "[codec][rules][blob]") {
    for (int suite : {1, 2}) {
        for (std::size_t w = 0; w <= 300; ++w) {
            CAPTURE(suite, w);
            Parts p = blob_parts();
            p.suite = static_cast<std::uint8_t>(suite);
            p.wrapped = seq(0, w);
            const bool valid = suite == 1 ? (w >= 24 && w <= 72 && w % 8 == 0) : w == 60;
            CHECK(code_of(parse_data_key_blob(build_blob(p))) ==
                  (valid ? Errc::ok : Errc::bad_wrapped_dek_length));
        }
    }
}

TEST_CASE("a data key blob with bytes after the wrapped DEK is trailing_bytes",
          "[codec][rules][blob]") {
    for (std::size_t extra : {1u, 8u, 28u, 1000u}) {
        Parts p = blob_parts();
        p.tail = seq(0, extra);
        CHECK(code_of(parse_data_key_blob(build_blob(p))) == Errc::trailing_bytes);
    }
}

TEST_CASE("cutting a data key blob at every length gives truncated", "[codec][rules][blob]") {
    const Bytes blob = build_blob(blob_parts());
    for (std::size_t len = 0; len < blob.size(); ++len) {
        CAPTURE(len);
        CHECK(code_of(parse_data_key_blob(ByteView(blob).first(len))) == Errc::truncated);
    }
}

TEST_CASE("an envelope is not a data key blob and a blob is not an envelope", "[codec][blob]") {
    CHECK(code_of(parse_data_key_blob(build_envelope(Parts{}))) == Errc::bad_magic);
    CHECK(code_of(parse_envelope(build_blob(blob_parts()))) == Errc::bad_magic);
    CHECK(parse_envelope(build_blob(blob_parts())).error().message().find("data key blob") !=
          std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// Error messages

TEST_CASE("codec error messages are one line and never echo input bytes", "[codec][messages]") {
    std::vector<Bytes> bad_inputs;
    bad_inputs.push_back(Bytes(32, 0x5A));  // looks like a raw key
    bad_inputs.push_back(hx("4b5745"));
    bad_inputs.push_back(hx("4b574502"));
    Parts p;
    p.suite = 7;
    bad_inputs.push_back(build_envelope(p));
    p = Parts{};
    p.keyring = "waLLets";
    bad_inputs.push_back(build_envelope(p));
    p = Parts{};
    p.version = 0;
    bad_inputs.push_back(build_envelope(p));
    p = Parts{};
    p.w = 41;
    bad_inputs.push_back(build_envelope(p));
    p = Parts{};
    p.tag = {};
    bad_inputs.push_back(build_envelope(p));
    bad_inputs.push_back(concat({build_blob(blob_parts()), seq(0, 3)}));
    std::vector<Error> errors;
    for (const auto& in : bad_inputs) {
        auto e = parse_envelope(in);
        if (!e.ok()) errors.push_back(e.error());
        auto b = parse_data_key_blob(in);
        if (!b.ok()) errors.push_back(b.error());
    }
    REQUIRE(errors.size() == 2 * bad_inputs.size());
    for (const auto& e : errors) {
        CAPTURE(e.message());
        CHECK_FALSE(e.message().empty());
        CHECK(e.message().find('\n') == std::string::npos);
        CHECK(e.message().find("5a5a") == std::string::npos);
        CHECK(e.message().find("5A5A") == std::string::npos);
        CHECK(e.message().find("ZZ") == std::string::npos);
        CHECK(exit_code(e.code()) == 3);
    }
}
