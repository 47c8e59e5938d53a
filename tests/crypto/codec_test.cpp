// Tests of the envelope / data key blob codec and the text form against spec/ENVELOPE.md:
// hand-built bytes, every reader rule with its own error code, truncation, bit flips, limits.
#include <botan/base64.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crypto/base64.hpp"
#include "crypto/crypto_test_helpers.hpp"
#include "crypto/envelope_codec.hpp"

using namespace keyward;
using namespace keyward::crypto;
using keyward::test::bytes_of;
using keyward::test::code_of;
using keyward::test::concat;
using keyward::test::hx;

namespace {

Bytes seq(std::uint8_t start, std::size_t n) {
    Bytes out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(start + i);
    return out;
}

// Every field of an envelope or blob, built by hand (independently of serialize_*), with
// overrides for the length fields so that inconsistent inputs can be made.
struct Parts {
    Bytes magic{0x4B, 0x57, 0x45, 0x01};
    std::uint8_t suite = 1;
    std::optional<std::uint8_t> n;  // default: keyring.size()
    std::string keyring = "wallets";
    std::uint32_t version = 3;
    std::optional<std::uint16_t> w;  // default: wrapped.size()
    Bytes wrapped = seq(0x00, 40);
    Bytes nonce = seq(0xA0, 12);
    Bytes ct = bytes_of("hello");
    Bytes tag = seq(0xF0, 16);
    Bytes tail;  // anything after the end
};

Parts blob_parts() {
    Parts p;
    p.magic = {0x4B, 0x57, 0x4B, 0x01};
    return p;
}

Bytes build_header(const Parts& p) {
    Bytes out = p.magic;
    out.push_back(p.suite);
    out.push_back(p.n.value_or(static_cast<std::uint8_t>(p.keyring.size())));
    out.insert(out.end(), p.keyring.begin(), p.keyring.end());
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<std::uint8_t>(p.version >> shift));
    }
    const std::uint16_t w = p.w.value_or(static_cast<std::uint16_t>(p.wrapped.size()));
    out.push_back(static_cast<std::uint8_t>(w >> 8));
    out.push_back(static_cast<std::uint8_t>(w));
    out.insert(out.end(), p.wrapped.begin(), p.wrapped.end());
    return out;
}

Bytes build_envelope(const Parts& p) {
    return concat({build_header(p), p.nonce, p.ct, p.tag, p.tail});
}

Bytes build_blob(const Parts& p) {
    return concat({build_header(p), p.tail});
}

KeyHeader header_of(const Parts& p) {
    KeyHeader h;
    h.suite = static_cast<Suite>(p.suite);
    h.keyring = p.keyring;
    h.kek_version = p.version;
    h.wrapped_dek = p.wrapped;
    return h;
}

bool same_header(const KeyHeader& a, const KeyHeader& b) {
    return a.suite == b.suite && a.keyring == b.keyring && a.kek_version == b.kek_version &&
           a.wrapped_dek == b.wrapped_dek;
}

Bytes to_bytes(ByteView v) {
    return Bytes(v.begin(), v.end());
}

// The hand-written reference envelope of the first test, as one hex string per field.
const char* const kKnownEnvelopeHex =
    "4b574501"        // magic "KWE" 1
    "01"              // suite 1
    "07"              // n = 7
    "77616c6c657473"  // "wallets"
    "00000003"        // KEK version 3
    "0028"            // w = 40
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627"
    "a0a1a2a3a4a5a6a7a8a9aaab"           // nonce
    "68656c6c6f"                         // ciphertext "hello"
    "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";  // tag

}  // namespace

// ---------------------------------------------------------------------------------------------
// Known bytes and round trips

TEST_CASE("a hand-built envelope parses into exactly its fields", "[codec]") {
    const Bytes env = hx(kKnownEnvelopeHex);
    REQUIRE(env.size() == 92);
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(r->header.suite == Suite::kwp);
    CHECK(r->header.keyring == "wallets");
    CHECK(r->header.kek_version == 3);
    CHECK(r->header.wrapped_dek == seq(0x00, 40));
    CHECK(to_bytes(r->nonce) == seq(0xA0, 12));
    CHECK(to_bytes(r->ciphertext) == bytes_of("hello"));
    CHECK(to_bytes(r->tag) == seq(0xF0, 16));
    // The views point into the parsed buffer, not into copies.
    CHECK(r->nonce.data() == env.data() + 59);
    CHECK(r->ciphertext.data() == env.data() + 71);
    CHECK(r->tag.data() == env.data() + 76);
}

TEST_CASE("serializing the hand-built header gives exactly the hand-built bytes", "[codec]") {
    KeyHeader h;
    h.suite = Suite::kwp;
    h.keyring = "wallets";
    h.kek_version = 3;
    h.wrapped_dek = seq(0x00, 40);
    auto r = serialize_envelope(h, seq(0xA0, 12), bytes_of("hello"), seq(0xF0, 16));
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(*r == hx(kKnownEnvelopeHex));
    CHECK(*r == build_envelope(Parts{}));
}

TEST_CASE("a hand-built suite 2 envelope and data key blob parse and serialize exactly",
          "[codec]") {
    Parts p;
    p.suite = 2;
    p.keyring = "a";
    p.version = 0xFFFFFFFF;
    p.wrapped = seq(0x10, 60);
    p.ct = {};
    const Bytes env = build_envelope(p);
    CHECK(env.size() == 4 + 1 + 1 + 1 + 4 + 2 + 60 + 12 + 16);
    CHECK(Bytes(env.begin(), env.begin() + 13) == hx("4b57450102 01 61 ffffffff 003c"));
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::ok);
    CHECK(same_header(r->header, header_of(p)));
    CHECK(r->ciphertext.empty());
    auto s = serialize_envelope(header_of(p), p.nonce, {}, p.tag);
    REQUIRE(code_of(s) == Errc::ok);
    CHECK(*s == env);

    Parts b = blob_parts();
    b.suite = 2;
    b.keyring = "a";
    b.version = 0xFFFFFFFF;
    b.wrapped = seq(0x10, 60);
    const Bytes blob = build_blob(b);
    CHECK(Bytes(blob.begin(), blob.begin() + 13) == hx("4b574b0102 01 61 ffffffff 003c"));
    auto rb = parse_data_key_blob(blob);
    REQUIRE(code_of(rb) == Errc::ok);
    CHECK(same_header(*rb, header_of(b)));
    auto sb = serialize_data_key_blob(header_of(b));
    REQUIRE(code_of(sb) == Errc::ok);
    CHECK(*sb == blob);
}

TEST_CASE("envelopes round-trip through serialize and parse for both suites", "[codec]") {
    for (Suite suite : {Suite::kwp, Suite::gcm}) {
        for (const std::string& keyring :
             {std::string("a"), std::string("0"), std::string("wallets.prod-eu_1"),
              std::string(64, 'z')}) {
            for (std::size_t ct_len : {0u, 1u, 15u, 16u, 17u, 1000u}) {
                KeyHeader h;
                h.suite = suite;
                h.keyring = keyring;
                h.kek_version = 42;
                h.wrapped_dek = seq(0x33, suite == Suite::kwp ? 40 : 60);
                const Bytes ct = seq(0x55, ct_len);
                auto s = serialize_envelope(h, seq(1, 12), ct, seq(2, 16));
                REQUIRE(code_of(s) == Errc::ok);
                CHECK(s->size() ==
                      4 + 1 + 1 + keyring.size() + 4 + 2 + h.wrapped_dek.size() + 12 + ct_len + 16);
                auto p = parse_envelope(*s);
                REQUIRE(code_of(p) == Errc::ok);
                CHECK(same_header(p->header, h));
                CHECK(to_bytes(p->nonce) == seq(1, 12));
                CHECK(to_bytes(p->ciphertext) == ct);
                CHECK(to_bytes(p->tag) == seq(2, 16));
            }
        }
    }
}

TEST_CASE("data key blobs round-trip for every allowed wrapped DEK length", "[codec]") {
    for (std::size_t w = 24; w <= 72; w += 8) {
        KeyHeader h;
        h.suite = Suite::kwp;
        h.keyring = "keys";
        h.kek_version = 1;
        h.wrapped_dek = seq(0x80, w);
        auto s = serialize_data_key_blob(h);
        REQUIRE(code_of(s) == Errc::ok);
        CHECK(*s == concat({hx("4b574b0101 04"), bytes_of("keys"), hx("00000001"),
                            Bytes{0x00, static_cast<std::uint8_t>(w)}, seq(0x80, w)}));
        auto p = parse_data_key_blob(*s);
        REQUIRE(code_of(p) == Errc::ok);
        CHECK(same_header(*p, h));
    }
    KeyHeader g;
    g.suite = Suite::gcm;
    g.keyring = "keys";
    g.kek_version = 7;
    g.wrapped_dek = seq(0x00, 60);
    auto s = serialize_data_key_blob(g);
    REQUIRE(code_of(s) == Errc::ok);
    auto p = parse_data_key_blob(*s);
    REQUIRE(code_of(p) == Errc::ok);
    CHECK(same_header(*p, g));
}

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
// Writers

TEST_CASE("writers refuse a header that readers would refuse, with the same codes",
          "[codec][write]") {
    const Bytes nonce = seq(0, 12), tag = seq(0, 16);
    auto both = [&](const KeyHeader& h, Errc env_code, Errc blob_code) {
        CHECK(code_of(serialize_envelope(h, nonce, {}, tag)) == env_code);
        CHECK(code_of(serialize_data_key_blob(h)) == blob_code);
    };
    KeyHeader good = header_of(Parts{});
    both(good, Errc::ok, Errc::ok);

    KeyHeader h = good;
    h.suite = static_cast<Suite>(3);
    both(h, Errc::unknown_suite, Errc::unknown_suite);
    h.suite = static_cast<Suite>(0);
    both(h, Errc::unknown_suite, Errc::unknown_suite);

    h = good;
    h.keyring = "";
    both(h, Errc::bad_keyring_length, Errc::bad_keyring_length);
    h.keyring = std::string(65, 'a');
    both(h, Errc::bad_keyring_length, Errc::bad_keyring_length);
    h.keyring = std::string(64, 'a');
    both(h, Errc::ok, Errc::ok);
    for (const char* bad : {"Wallets", "_wallets", ".a", "-a", "wal lets", "wal/lets", "wäl"}) {
        CAPTURE(bad);
        h.keyring = bad;
        both(h, Errc::bad_keyring_name, Errc::bad_keyring_name);
    }

    h = good;
    h.kek_version = 0;
    both(h, Errc::bad_kek_version, Errc::bad_kek_version);

    h = good;
    for (std::size_t w : {0u, 8u, 16u, 24u, 32u, 39u, 41u, 48u, 60u, 72u, 80u}) {
        CAPTURE(w);
        h.wrapped_dek = seq(0, w);
        const bool blob_ok = w >= 24 && w <= 72 && w % 8 == 0;
        both(h, w == 40 ? Errc::ok : Errc::bad_wrapped_dek_length,
             blob_ok ? Errc::ok : Errc::bad_wrapped_dek_length);
    }
    h.suite = Suite::gcm;
    for (std::size_t w : {40u, 59u, 60u, 61u}) {
        CAPTURE(w);
        h.wrapped_dek = seq(0, w);
        const Errc want = w == 60 ? Errc::ok : Errc::bad_wrapped_dek_length;
        both(h, want, want);
    }
}

TEST_CASE("serialize_envelope refuses a nonce that is not 12 bytes or a tag that is not 16",
          "[codec][write]") {
    const KeyHeader h = header_of(Parts{});
    CHECK(code_of(serialize_envelope(h, seq(0, 11), {}, seq(0, 16))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 13), {}, seq(0, 16))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), {}, seq(0, 15))) == Errc::failed);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), {}, {})) == Errc::failed);
}

TEST_CASE("wrapped_dek_length is 8*ceil(n/8)+8 for suite 1 and 12+n+16 for suite 2", "[codec]") {
    CHECK(wrapped_dek_length(Suite::kwp, 32) == 40);
    CHECK(wrapped_dek_length(Suite::kwp, 16) == 24);
    CHECK(wrapped_dek_length(Suite::kwp, 64) == 72);
    CHECK(wrapped_dek_length(Suite::kwp, 1) == 16);
    CHECK(wrapped_dek_length(Suite::kwp, 17) == 32);
    CHECK(wrapped_dek_length(Suite::gcm, 32) == 60);
}

// ---------------------------------------------------------------------------------------------
// AADs

TEST_CASE("the payload AAD is magic, suite, 32-bit context length and context", "[codec][aad]") {
    CHECK(payload_aad(Suite::kwp, {}) == hx("4b574501 01 00000000"));
    CHECK(payload_aad(Suite::gcm, {}) == hx("4b574501 02 00000000"));
    CHECK(payload_aad(Suite::kwp, as_bytes("record:ns/name#1")) ==
          hx("4b574501 01 00000010 7265636f72643a6e732f6e616d652331"));
    const Bytes big(65535, 0x61);
    const Bytes aad = payload_aad(Suite::gcm, big);
    CHECK(Bytes(aad.begin(), aad.begin() + 9) == hx("4b574501 02 0000ffff"));
    CHECK(aad.size() == 9 + 65535);
    CHECK(Bytes(aad.begin() + 9, aad.end()) == big);
}

TEST_CASE("the suite 2 DEK-wrap AAD is the envelope magic, suite 2, keyring and KEK version",
          "[codec][aad]") {
    CHECK(gcm_dek_wrap_aad("wallets", 3) == hx("4b574501 02 07 77616c6c657473 00000003"));
    CHECK(gcm_dek_wrap_aad("a", 0x01020304) == hx("4b574501 02 01 61 01020304"));
    // The same bytes serve envelopes and data key blobs: the magic is always "KWE".
    CHECK(gcm_dek_wrap_aad(std::string(64, 'k'), 0xFFFFFFFF).size() == 4 + 1 + 1 + 64 + 4);
}

// ---------------------------------------------------------------------------------------------
// 64 MiB limit

TEST_CASE("an envelope with 64 MiB of ciphertext parses and one byte more is input_too_large",
          "[codec][limit]") {
    Parts p;
    p.ct.assign(kMaxPlaintext, 0x5A);
    Bytes env = build_envelope(p);
    {
        auto r = parse_envelope(env);
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(r->ciphertext.size() == kMaxPlaintext);
        CHECK(env.size() <= kMaxEnvelopeSize);
    }
    env.push_back(0);
    auto r = parse_envelope(env);
    REQUIRE(code_of(r) == Errc::input_too_large);
    CHECK(exit_code(r.error().code()) == 1);
    // Header faults are still reported first: the size rule comes after the header in byte
    // order.
    env[0] = 0;
    CHECK(code_of(parse_envelope(env)) == Errc::bad_magic);
}

TEST_CASE("serialize_envelope refuses more than 64 MiB of ciphertext", "[codec][limit]") {
    const KeyHeader h = header_of(Parts{});
    Bytes ct(kMaxPlaintext, 0x11);
    auto ok = serialize_envelope(h, seq(0, 12), ct, seq(0, 16));
    REQUIRE(code_of(ok) == Errc::ok);
    CHECK(ok->size() == 59 + 12 + kMaxPlaintext + 16);
    ct.push_back(0x11);
    CHECK(code_of(serialize_envelope(h, seq(0, 12), ct, seq(0, 16))) == Errc::input_too_large);
    // Even with a header that is also wrong: the size is checked before anything else.
    KeyHeader bad = h;
    bad.kek_version = 0;
    CHECK(code_of(serialize_envelope(bad, seq(0, 12), ct, seq(0, 16))) == Errc::input_too_large);
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

// ---------------------------------------------------------------------------------------------
// Text form

TEST_CASE("the text form is the prefix plus RFC 4648 base64", "[codec][text]") {
    const std::pair<const char*, const char*> rfc4648[] = {
        {"f", "Zg=="},        {"fo", "Zm8="},        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, b64] : rfc4648) {
        CHECK(to_text(kEnvelopeTextPrefix, as_bytes(raw)) == std::string("kwe1:") + b64);
        CHECK(to_text(kDataKeyTextPrefix, as_bytes(raw)) == std::string("kwk1:") + b64);
        auto back = from_text(kEnvelopeTextPrefix, std::string("kwe1:") + b64);
        REQUIRE(code_of(back) == Errc::ok);
        CHECK(*back == bytes_of(raw));
    }
    CHECK(to_text(kEnvelopeTextPrefix, hx("fbff")) == "kwe1:+/8=");
    CHECK(to_text(kEnvelopeTextPrefix, hx(kKnownEnvelopeHex)) ==
          "kwe1:S1dFAQEHd2FsbGV0cwAAAAMAKAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fICEiIyQlJiegoa"
          "KjpKWmp6ipqqtoZWxsb/Dx8vP09fb3+Pn6+/z9/v8=");
}

TEST_CASE("base64_encode_secret gives the RFC 4648 test vectors byte for byte", "[codec][text]") {
    // RFC 4648 section 10, the empty string included.
    const std::pair<const char*, const char*> rfc4648[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [raw, b64] : rfc4648) {
        INFO(raw);
        const SecretString text = base64_encode_secret(as_bytes(raw));
        CHECK(std::string(text.data(), text.size()) == b64);
    }
    // Every alphabet character, + and / included, and the same text as base64_encode.
    const Bytes all = hx(
        "00108310518720928b30d38f41149351559761969b71d79f8218a39259a7a29aabb2dbafc31cb3d35db7e39e"
        "bbf3dfbf");
    const SecretString text = base64_encode_secret(all);
    CHECK(std::string(text.data(), text.size()) ==
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
    for (std::size_t len = 0; len <= 64; ++len) {
        const Bytes data = seq(static_cast<std::uint8_t>(0xF0 + len), len);
        const SecretString secret = base64_encode_secret(data);
        CHECK(std::string(secret.data(), secret.size()) == base64_encode(data));
    }
}

TEST_CASE("the text form accepts prefix and padded base64 with at most one final newline",
          "[codec][text]") {
    const std::pair<std::string, Bytes> good[] = {
        {"kwe1:AAAA", Bytes{0, 0, 0}},         {"kwe1:AAAA\n", Bytes{0, 0, 0}},
        {"kwe1:AAAA\r\n", Bytes{0, 0, 0}},     {"kwe1:QQ==", bytes_of("A")},
        {"kwe1:QUI=", bytes_of("AB")},         {"kwe1:QUJD", bytes_of("ABC")},
        {"kwe1:QUJDRA==\n", bytes_of("ABCD")}, {"kwe1:+/+/", hx("fbffbf")},
        {"kwe1:AA==\r\n", Bytes{0}},
    };
    for (const auto& [text, bytes] : good) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::ok);
        CHECK(*r == bytes);
    }
    auto k = from_text(kDataKeyTextPrefix, "kwk1:QUJD\n");
    REQUIRE(code_of(k) == Errc::ok);
    CHECK(*k == bytes_of("ABC"));
}

TEST_CASE("the text form rejects everything else as bad_text_form", "[codec][text]") {
    const std::string bad[] = {
        "",                              // nothing
        "\n",                            // only a newline
        "kwe1:",                         // empty payload
        "kwe1:\n",                       // empty payload with newline
        "kwe1:\r\n",                     // empty payload with CRLF
        "KWE1:AAAA",                     // prefix in upper case
        "kwk1:AAAA",                     // the other form's prefix
        "kwe2:AAAA",                     // another version
        "kwe:AAAA",                      // prefix without version
        "kwe1AAAA",                      // prefix without colon
        " kwe1:AAAA",                    // leading space
        "\nkwe1:AAAA",                   // leading newline
        "kwe1: AAAA",                    // space after the prefix
        "kwe1:AA AA",                    // inner space
        "kwe1:AA\nAA",                   // inner newline
        "kwe1:AA\tAA",                   // inner tab
        "kwe1:AAAA ",                    // trailing space
        "kwe1:AAAA\t",                   // trailing tab
        "kwe1:AAAA\n\n",                 // two newlines
        "kwe1:AAAA\r",                   // lone CR
        "kwe1:AAAA\n\r",                 // LF CR
        "kwe1:AAAA\r\n\n",               // CRLF then LF
        "kwe1:AAAA\r\r\n",               // CR CRLF
        "kwe1:AAA",                      // missing padding (3 chars)
        "kwe1:AA",                       // missing padding (2 chars)
        "kwe1:A",                        // one char
        "kwe1:AA=",                      // half padding
        "kwe1:A===",                     // three pad characters
        "kwe1:====",                     // only padding
        "kwe1:AAAA=",                    // extra pad after a full group
        "kwe1:AAAA==",                   // two extra pads
        "kwe1:AA==AAAA",                 // padding in the middle
        "kwe1:A=AA",                     // pad inside a group
        "kwe1:AB==",                     // non-canonical: pad bits set (4 bits)
        "kwe1:AAB=",                     // non-canonical: pad bits set (2 bits)
        "kwe1:QR==",                     // non-canonical
        "kwe1:-_-_",                     // URL-safe alphabet
        "kwe1:AA-A",                     // URL-safe '-'
        "kwe1:AA_A",                     // URL-safe '_'
        "kwe1:AA.A",                     // not base64
        "kwe1:QUJD\x01",                 // control character
        "kwe1:QUJD\xc3\xa9",             // non-ASCII
        std::string("kwe1:QUJD\0", 10),  // NUL
        std::string("kwe1:\0QUJD", 10),  // NUL first
    };
    REQUIRE(std::size(bad) >= 15);
    for (const auto& text : bad) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::bad_text_form);
        CHECK(r.error().message().find('\n') == std::string::npos);
        CHECK(exit_code(r.error().code()) == 3);
    }
    CHECK(code_of(from_text(kDataKeyTextPrefix, "kwe1:AAAA")) == Errc::bad_text_form);
    CHECK(code_of(from_text(kDataKeyTextPrefix, "kwk1:AAA")) == Errc::bad_text_form);
}

// Issue 9, item 12: a second line end or a lone CR after "Zg==" was reported as "padding '='
// at position 7 before the end"; the message must name what is really wrong, and where.
TEST_CASE("the text form names a stray line end or character after the base64, not the padding",
          "[codec][text]") {
    const std::string tail = "; expected \"kwe1:\" followed by padded standard base64 on one line";
    const std::string one_end = " (only one final \"\\n\" or \"\\r\\n\" is allowed)";
    const std::pair<std::string, std::string> cases[] = {
        {"kwe1:Zg==\n\n", "a second line end at position 10" + one_end},
        {"kwe1:Zg==\r\n\n", "a second line end at position 11" + one_end},
        {"kwe1:Zg==\n\r\n", "a second line end at position 10" + one_end},
        {"kwe1:QUJD\n\n", "a second line end at position 10" + one_end},
        {"kwe1:Zg==\r", "a carriage return at position 9 without a line feed after it" + one_end},
        {"kwe1:Zg==\r\r\n",
         "a carriage return at position 9 without a line feed after it" + one_end},
        {"kwe1:Zg==\n\r",
         "a carriage return at position 10 without a line feed after it" + one_end},
        {"kwe1:Zg== ", "whitespace at position 9 after the base64" + one_end},
        {"kwe1:Zg==\t\n", "whitespace at position 9 after the base64" + one_end},
        {"kwe1:Zg==*", "a character outside the base64 alphabet at position 9"},
        {"kwe1:Zg==\x01", "a character outside the base64 alphabet at position 9"},
        {"kwe1:Zm8=-", "URL-safe base64 character at position 9 (use + and /)"},
        // A '=' that really is early is still named as such.
        {"kwe1:Zg==AAAA", "padding '=' at position 7 before the end"},
        {"kwe1:A=AA", "padding '=' at position 6 before the end"},
        {"kwe1:Zg==\nAAAA",
         "whitespace or a line break at position 9 (only one final newline "
         "is allowed)"},
    };
    for (const auto& [text, reason] : cases) {
        CAPTURE(text);
        auto r = from_text(kEnvelopeTextPrefix, text);
        REQUIRE(code_of(r) == Errc::bad_text_form);
        CHECK(r.error().message() == "text form is malformed: " + reason + tail);
    }
    auto k = from_text(kDataKeyTextPrefix, "kwk1:QUI=\n\n");
    REQUIRE(code_of(k) == Errc::bad_text_form);
    CHECK_THAT(k.error().message(), Catch::Contains("a second line end at position 10"));
}

TEST_CASE("the text form round-trips every length and agrees with Botan's base64",
          "[codec][text]") {
    for (std::size_t len = 1; len <= 300; ++len) {
        Bytes data(len);
        for (std::size_t i = 0; i < len; ++i) {
            data[i] = static_cast<std::uint8_t>(i * 7 + len * 13);
        }
        const std::string text = to_text(kEnvelopeTextPrefix, data);
        CHECK(text == "kwe1:" + Botan::base64_encode(data.data(), data.size()));
        auto back = from_text(kEnvelopeTextPrefix, text + "\n");
        REQUIRE(code_of(back) == Errc::ok);
        CHECK(*back == data);
    }
    Bytes all(256);
    for (std::size_t i = 0; i < 256; ++i) all[i] = static_cast<std::uint8_t>(i);
    auto back = from_text(kDataKeyTextPrefix, to_text(kDataKeyTextPrefix, all));
    REQUIRE(code_of(back) == Errc::ok);
    CHECK(*back == all);
}

TEST_CASE("an envelope survives serialize, text form and parse byte for byte", "[codec][text]") {
    const Bytes env = build_envelope(Parts{});
    const std::string text = to_text(kEnvelopeTextPrefix, env) + "\n";
    auto bytes = from_text(kEnvelopeTextPrefix, text);
    REQUIRE(code_of(bytes) == Errc::ok);
    CHECK(*bytes == env);
    auto parsed = parse_envelope(*bytes);
    REQUIRE(code_of(parsed) == Errc::ok);
    CHECK(same_header(parsed->header, header_of(Parts{})));
}

TEST_CASE("text longer than the largest envelope is input_too_large before decoding",
          "[codec][text][limit]") {
    // The largest envelope still decodes.
    const Bytes largest(kMaxEnvelopeSize, 0);
    auto ok = from_text(kEnvelopeTextPrefix, to_text(kEnvelopeTextPrefix, largest));
    REQUIRE(code_of(ok) == Errc::ok);
    CHECK(ok->size() == kMaxEnvelopeSize);
    // Four more characters cannot be an envelope; even invalid base64 is not looked at.
    std::string text = "kwe1:" + std::string((kMaxEnvelopeSize + 2) / 3 * 4 + 4, '*');
    auto r = from_text(kEnvelopeTextPrefix, text);
    CHECK(code_of(r) == Errc::input_too_large);
}

TEST_CASE("detect_kind recognises the binary magics and the text prefixes", "[codec][text]") {
    CHECK(detect_kind(build_envelope(Parts{})) == BlobKind::envelope);
    CHECK(detect_kind(build_blob(blob_parts())) == BlobKind::data_key);
    CHECK(detect_kind(as_bytes("kwe1:AAAA")) == BlobKind::envelope);
    CHECK(detect_kind(as_bytes("kwk1:AAAA")) == BlobKind::data_key);
    CHECK(detect_kind(as_bytes("kwe1:")) == BlobKind::envelope);
    // Another binary version is still recognised, so the parser can name the version problem.
    CHECK(detect_kind(hx("4b574502")) == BlobKind::envelope);
    CHECK(detect_kind(hx("4b574b09")) == BlobKind::data_key);
    CHECK(detect_kind(hx("4b5745")) == BlobKind::envelope);
    // Upper-case "KWE1:" text starts with the binary "KWE": it goes to the binary parser,
    // which refuses it as format version 0x31.
    CHECK(detect_kind(as_bytes("KWE1:AAAA")) == BlobKind::envelope);
    CHECK(code_of(parse_envelope(as_bytes("KWE1:AAAA"))) == Errc::unsupported_format_version);
    for (const Bytes& unknown :
         {Bytes{}, hx("4b"), hx("4b57"), hx("4b5746"), hx("00000000"), bytes_of("kwe1"),
          bytes_of("kwe2:AAAA"), bytes_of("Kwe1:AAAA"), bytes_of(" kwe1:AAAA"), bytes_of("{}")}) {
        CAPTURE(unknown);
        CHECK(detect_kind(unknown) == BlobKind::unknown);
    }
}

TEST_CASE("looks_like_text is true exactly for the kwe1: and kwk1: prefixes", "[codec][text]") {
    CHECK(looks_like_text(as_bytes("kwe1:")));
    CHECK(looks_like_text(as_bytes("kwk1:QUJD")));
    CHECK_FALSE(looks_like_text(as_bytes("kwe1")));
    CHECK_FALSE(looks_like_text(as_bytes("KWE1:QUJD")));
    CHECK_FALSE(looks_like_text(as_bytes("kwx1:QUJD")));
    CHECK_FALSE(looks_like_text(build_envelope(Parts{})));
    CHECK_FALSE(looks_like_text(Bytes{}));
}
