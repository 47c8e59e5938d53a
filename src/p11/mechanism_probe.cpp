// SPDX-License-Identifier: Apache-2.0
// The connect-time mechanism probe and its known-answer tests. Expected values were computed
// once on the host: KWP with `openssl enc -id-aes256-wrap-pad -iv A65959A6 -K 0001..1f` and
// Python cryptography's aes_key_wrap_with_padding (both agree); GCM with Python
// cryptography's AESGCM.
#include "p11/mechanism_probe.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include "p11/key_ops.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

// KEK 00 01 .. 1f for every KWP test below.
constexpr std::array<std::uint8_t, 32> kKwpKatKek = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

// A 32-byte key (the DEK size) and its RFC 5649 wrap.
constexpr std::string_view kKwpKatKey32 = "keyward mechanism probe: 32 byte";
constexpr std::array<std::uint8_t, 40> kKwpKatWrapped32 = {
    0x88, 0xd6, 0xad, 0xe8, 0x3f, 0x94, 0xb7, 0x03, 0xde, 0x12, 0x8e, 0xf8, 0x15, 0x99,
    0xa4, 0xe7, 0x7f, 0xc8, 0xc5, 0x74, 0x07, 0x2e, 0x51, 0xd4, 0xa1, 0xba, 0x40, 0x42,
    0x52, 0x5e, 0xfa, 0x58, 0x34, 0x06, 0xbb, 0xf7, 0x6f, 0x01, 0xe0, 0xba};

// The 23-byte message below and its RFC 5649 wrap: a length that is not a multiple of 8, so the
// padding and the message length indicator are exercised (plain RFC 3394 cannot pass).
constexpr std::string_view kKatMessage = "keyward mechanism probe";
constexpr std::array<std::uint8_t, 32> kKwpKatWrapped23 = {
    0x4d, 0xa5, 0x5b, 0x26, 0x5f, 0xf9, 0x37, 0xef, 0x8d, 0x2f, 0x1d, 0xec, 0xd8, 0x40, 0xa4, 0x96,
    0xe1, 0xc3, 0xe1, 0x9b, 0x93, 0x8b, 0x55, 0x7b, 0xfd, 0xfa, 0x49, 0xc9, 0x70, 0x03, 0x3c, 0x56};

// GCM: key 1f 1e .. 00, IV 00 01 .. 0b, AAD "keyward gcm probe", plaintext kKatMessage.
constexpr std::array<std::uint8_t, 32> kGcmKatKey = {
    0x1f, 0x1e, 0x1d, 0x1c, 0x1b, 0x1a, 0x19, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0x10,
    0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x00};
constexpr std::array<std::uint8_t, 12> kGcmKatIv = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                                    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b};
constexpr std::string_view kGcmKatAad = "keyward gcm probe";
constexpr std::array<std::uint8_t, 39> kGcmKatCiphertextTag = {
    0x65, 0x28, 0x38, 0xba, 0x09, 0xec, 0x44, 0xa9, 0x9b, 0xe0, 0x6f, 0x25, 0x25,
    0x2c, 0xb5, 0x01, 0x13, 0xf3, 0x54, 0x28, 0x6d, 0x52, 0xc3, 0xaf, 0xfa, 0xb9,
    0x22, 0x7d, 0x77, 0xf2, 0xbc, 0x6f, 0x0e, 0xb3, 0x75, 0x2d, 0x14, 0x50, 0x0c};

bool equal(ByteView a, ByteView b) {
    return std::ranges::equal(a, b);
}

// Runs the RFC 5649 KAT under `mechanism`: empty string when it passes, else why not. Wrapping
// is proved on a 32-byte key; unwrapping on a 32-byte and on a 23-byte blob.
std::string kwp_kat(const Session& s, CK_MECHANISM_TYPE mechanism) {
    auto kek = import_session_key(s, kKwpKatKek, KeyUse::aes_wrapping_key);
    if (!kek) return "cannot import a known-value AES key (" + kek.error().message() + ")";
    auto key = import_session_key(s, as_bytes(kKwpKatKey32), KeyUse::data_key);
    if (!key) return "cannot import a known-value secret (" + key.error().message() + ")";
    auto wrapped =
        wrap_key(s, mechanism, kek->handle(), key->handle(), kwp_wrapped_size(kKwpKatKey32.size()));
    if (!wrapped) return "wrap failed (" + wrapped.error().message() + ")";
    if (!equal(*wrapped, kKwpKatWrapped32)) return "wrap output is not RFC 5649's";

    for (auto [blob, expected] : {std::pair{ByteView(kKwpKatWrapped32), as_bytes(kKwpKatKey32)},
                                  std::pair{ByteView(kKwpKatWrapped23), as_bytes(kKatMessage)}}) {
        auto unwrapped = unwrap_key(s, mechanism, kek->handle(), blob, false);
        if (!unwrapped) return "unwrap failed (" + unwrapped.error().message() + ")";
        auto value = read_key_value(s, unwrapped->handle(), blob.size());
        if (!value) return "cannot read an unwrapped test key (" + value.error().message() + ")";
        if (!equal(*value, expected)) return "unwrap returned other bytes";
    }
    // A token that unwraps without checking the integrity value must not be trusted.
    Bytes tampered = *wrapped;
    tampered[tampered.size() - 1] ^= 0x01;
    auto bad = unwrap_key(s, mechanism, kek->handle(), tampered, false);
    if (bad) return "a tampered blob was unwrapped";
    if (bad.error().code() != Errc::auth_failed) {
        return "a tampered blob gave an unexpected error (" + bad.error().message() + ")";
    }
    return {};
}

// Whether wrapping a key whose length is not a multiple of 8 gives RFC 5649's output. SoftHSM
// 2.6.1 zero-pads such a key to a multiple of 8 *before* RFC 5649, so its blob says 24 bytes
// for a 23-byte key (and unwraps to 24): it is only standard for lengths that are multiples of 8.
bool kwp_wraps_any_length(const Session& s, CK_MECHANISM_TYPE mechanism) {
    auto kek = import_session_key(s, kKwpKatKek, KeyUse::aes_wrapping_key);
    auto key = import_session_key(s, as_bytes(kKatMessage), KeyUse::data_key);
    if (!kek || !key) return false;
    auto wrapped =
        wrap_key(s, mechanism, kek->handle(), key->handle(), kwp_wrapped_size(kKatMessage.size()));
    return wrapped && equal(*wrapped, kKwpKatWrapped23);
}

// Whether CKA_VALUE_LEN of an unwrapped generic secret is its length. SoftHSM 2.6.1 answers 0,
// so where the length matters it is read as the length of CKA_VALUE instead (quirk
// value-len-zero).
bool value_len_after_unwrap(const Session& s, CK_MECHANISM_TYPE mechanism) {
    auto kek = import_session_key(s, kKwpKatKek, KeyUse::aes_wrapping_key);
    if (!kek) return false;
    auto key = unwrap_key(s, mechanism, kek->handle(), kKwpKatWrapped23, false);
    if (!key) return false;
    auto length = read_value_len_attribute(s, key->handle());
    return length && *length == kKatMessage.size();
}

std::string gcm_kat(const Session& s) {
    auto key = import_session_key(s, kGcmKatKey, KeyUse::aes_encryption_key);
    if (!key) return "cannot import a known-value AES key (" + key.error().message() + ")";
    auto iv = kGcmKatIv;
    auto ct = gcm_encrypt(s, key->handle(), iv, as_bytes(kGcmKatAad), as_bytes(kKatMessage));
    if (!ct) return "encrypt failed (" + ct.error().message() + ")";
    // A token that makes its own IV writes it into the parameters; then only the decryption
    // of the known answer below proves the mechanism.
    if (equal(iv, kGcmKatIv) && !equal(*ct, kGcmKatCiphertextTag)) {
        return "encrypt output differs from the known answer";
    }
    auto round = gcm_decrypt(s, key->handle(), iv, as_bytes(kGcmKatAad), *ct);
    if (!round) return "decrypt of its own output failed (" + round.error().message() + ")";
    if (!equal(*round, as_bytes(kKatMessage))) return "decrypt returned other bytes";
    auto pt = gcm_decrypt(s, key->handle(), kGcmKatIv, as_bytes(kGcmKatAad), kGcmKatCiphertextTag);
    if (!pt) return "decrypt of the known answer failed (" + pt.error().message() + ")";
    if (!equal(*pt, as_bytes(kKatMessage))) return "decrypt of the known answer differs";
    Bytes tampered(kGcmKatCiphertextTag.begin(), kGcmKatCiphertextTag.end());
    tampered.back() ^= 0x01;
    auto bad = gcm_decrypt(s, key->handle(), kGcmKatIv, as_bytes(kGcmKatAad), tampered);
    if (bad) return "a bad tag was accepted";
    if (bad.error().code() != Errc::auth_failed) {
        return "a bad tag gave an unexpected error (" + bad.error().message() + ")";
    }
    return {};
}

}  // namespace

std::string mechanism_name(CK_MECHANISM_TYPE mechanism) {
    switch (mechanism) {
        case CKM_AES_KEY_WRAP_KWP:
            return "CKM_AES_KEY_WRAP_KWP";
        case CKM_AES_KEY_WRAP_PAD:
            return "CKM_AES_KEY_WRAP_PAD";
        case CKM_AES_KEY_WRAP:
            return "CKM_AES_KEY_WRAP";
        case CKM_AES_GCM:
            return "CKM_AES_GCM";
        case CKM_AES_KEY_GEN:
            return "CKM_AES_KEY_GEN";
        default:
            break;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "CKM_0x%lx", mechanism);
    return buf;
}

Result<MechanismChoice> probe_mechanisms(const Session& session, bool pad_as_kwp) {
    CK_FUNCTION_LIST* f = session.functions();
    CK_ULONG count = 0;
    auto c = KW_P11_CALL(f, C_GetMechanismList, session.slot(), nullptr, &count);
    if (!c.ok()) return c.error(Errc::hsm_unavailable);
    std::vector<CK_MECHANISM_TYPE> list(count);
    c = KW_P11_CALL(f, C_GetMechanismList, session.slot(), list.data(), &count);
    if (!c.ok()) return c.error(Errc::hsm_unavailable);
    list.resize(count);

    auto offers = [&](CK_MECHANISM_TYPE m, CK_FLAGS needed) -> std::string {
        if (std::ranges::find(list, m) == list.end()) return mechanism_name(m) + " not offered";
        CK_MECHANISM_INFO info{};
        auto ci = KW_P11_CALL(f, C_GetMechanismInfo, session.slot(), m, &info);
        if (!ci.ok()) return mechanism_name(m) + ": " + ci.error().message();
        if ((info.flags & needed) != needed) {
            return mechanism_name(m) + " lacks the needed CKF_ flags";
        }
        return {};
    };

    MechanismChoice choice;
    for (CK_MECHANISM_TYPE m : {kMechAesKeyWrapKwp, kMechAesKeyWrapPad}) {
        if (m == kMechAesKeyWrapPad && !pad_as_kwp) {
            choice.suite1_report +=
                "; CKM_AES_KEY_WRAP_PAD was not tried (quirk pad-as-kwp is off)";
            break;
        }
        std::string why = offers(m, CKF_WRAP | CKF_UNWRAP);
        if (why.empty()) {
            why = kwp_kat(session, m);
            if (!why.empty()) why = mechanism_name(m) + " failed the RFC 5649 test: " + why;
        }
        if (why.empty()) {
            choice.suite1 = m;
            choice.suite1_any_length = kwp_wraps_any_length(session, m);
            choice.value_len_after_unwrap = value_len_after_unwrap(session, m);
            choice.suite1_report.clear();
            break;
        }
        if (!choice.suite1_report.empty()) choice.suite1_report += "; ";
        choice.suite1_report += why;
    }

    std::string why = offers(CKM_AES_GCM, CKF_ENCRYPT | CKF_DECRYPT);
    if (why.empty()) {
        why = gcm_kat(session);
        if (!why.empty()) why = "CKM_AES_GCM failed its known-answer test: " + why;
    }
    choice.suite2 = why.empty();
    choice.suite2_report = why;
    return choice;
}

}  // namespace keyward::p11
