// SPDX-License-Identifier: Apache-2.0
// P11Hsm's DEK operations: check values, wrap, unwrap, re-wrap (suite 1 to suite 1 entirely in
// the token), and the token RNG. Every KEK is used as the token object itself: a
// non-modifiable KEK cannot be copied into a faster session object on SoftHSM.
#include <algorithm>

#include "p11/attributes.hpp"
#include "p11/key_ops.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

// The fixed test key whose wrap is a KEK's check value (exactly 32 bytes).
constexpr std::string_view kCheckValueKey = "keyward KEK check value, v1 key!";
static_assert(kCheckValueKey.size() == 32);
constexpr std::string_view kCheckValueAad = "keyward check value v1";
constexpr std::size_t kCheckValueSize = 8;

}  // namespace

Status P11Hsm::require_kwp_length(std::size_t key_size) const {
    if (key_size % 8 == 0 || !quirks_.kwp_zero_pads) return ok_status();
    return Error(Errc::unsupported,
                 "token \"" + identity_.label + "\"" +
                     " wraps suite 1 keys correctly only when their length is a multiple of 8 "
                     "bytes (its " +
                     suite1_mechanism_name() +
                     " zero-pads first); use a data key of 16, 24, 32, 40, 48, 56 or 64 bytes");
}

template <typename Op>
auto P11Hsm::with_kek(const core::KekRef& kek, Op&& op)
    -> decltype(op(std::declval<SessionPool::Lease&>(), CK_OBJECT_HANDLE{})) {
    KW_TRY_STATUS(require_suite(kek.suite));
    KW_TRY(auto lease, this->lease());
    for (int attempt = 0;; ++attempt) {
        KW_TRY(CK_OBJECT_HANDLE handle, kek_handle(lease.session(), kek));
        auto result = op(lease, handle);
        if (!result.ok() && result.error().code() == Errc::not_found && attempt == 0) {
            // The cached handle went stale (KEK destroyed or replaced): look it up again once.
            forget_kek(kek.label);
            continue;
        }
        if (result.ok() || result.error().code() == Errc::auth_failed) return result;
        // An unexpected token error may leave an operation active: do not reuse the session.
        if (result.error().code() == Errc::hsm_error) lease.discard();
        return result.error().context("using KEK \"" + kek.label + "\" for suite " +
                                      std::string(suite_name(kek.suite)));
    }
}

Result<Bytes> P11Hsm::wrap_in(SessionPool::Lease& lease, Suite suite, CK_OBJECT_HANDLE kek,
                              ByteView dek, ByteView aad) {
    const Session& s = lease.session();
    if (suite == Suite::kwp) {
        KW_TRY_STATUS(require_kwp_length(dek.size()));
        KW_TRY(auto key, import_session_key(s, dek, KeyUse::sealed_data_key));
        lease.note_objects_created();
        return wrap_key(s, *mechanisms_.suite1, kek, key.handle(), kwp_wrapped_size(dek.size()));
    }
    Bytes out(kGcmIvSize);
    // The IV comes from the token's RNG, 96 bits, fresh per wrap (SP 800-38D 8.2.2).
    KW_TRY_STATUS(token_random(s, out));
    KW_TRY(auto ct, gcm_encrypt(s, kek, out, aad, dek));
    out.insert(out.end(), ct.begin(), ct.end());
    return out;
}

Result<SecretBytes> P11Hsm::unwrap_in(SessionPool::Lease& lease, Suite suite, CK_OBJECT_HANDLE kek,
                                      ByteView wrapped, ByteView aad) {
    const Session& s = lease.session();
    if (suite == Suite::kwp) {
        // RFC 5649 output is a multiple of 8 bytes, at least 16: anything else cannot verify.
        if (wrapped.size() < 16 || wrapped.size() % 8 != 0) return auth_failed_error();
        KW_TRY(auto key, unwrap_key(s, *mechanisms_.suite1, kek, wrapped, false));
        lease.note_objects_created();
        return read_key_value(s, key.handle(), wrapped.size());
    }
    if (wrapped.size() < kGcmIvSize + kGcmTagSize) return auth_failed_error();
    return gcm_decrypt(s, kek, wrapped.first(kGcmIvSize), aad, wrapped.subspan(kGcmIvSize));
}

Result<Bytes> P11Hsm::check_value(const core::KekRef& kek) {
    return with_kek(kek, [&](SessionPool::Lease& lease, CK_OBJECT_HANDLE handle) -> Result<Bytes> {
        const Session& s = lease.session();
        Bytes out;
        if (kek.suite == Suite::kwp) {
            KW_TRY(auto key,
                   import_session_key(s, as_bytes(kCheckValueKey), KeyUse::sealed_data_key));
            lease.note_objects_created();
            KW_TRY(out, wrap_key(s, *mechanisms_.suite1, handle, key.handle(),
                                 kwp_wrapped_size(kCheckValueKey.size())));
        } else {
            // A fixed all-zero IV is safe here only because the plaintext and AAD are fixed too:
            // every check value computation under a KEK encrypts the very same message.
            Bytes iv(kGcmIvSize, 0);
            KW_TRY(out,
                   gcm_encrypt(s, handle, iv, as_bytes(kCheckValueAad), as_bytes(kCheckValueKey)));
        }
        if (out.size() < kCheckValueSize) {
            return Error(Errc::hsm_error, "the token returned a too short check value");
        }
        out.resize(kCheckValueSize);
        return out;
    });
}

Result<Bytes> P11Hsm::wrap_dek(const core::KekRef& kek, ByteView dek, ByteView aad) {
    if (dek.empty()) return Error(Errc::bad_dek_length, "a data key cannot be empty");
    return with_kek(kek, [&](SessionPool::Lease& lease, CK_OBJECT_HANDLE handle) {
        return wrap_in(lease, kek.suite, handle, dek, aad);
    });
}

Result<SecretBytes> P11Hsm::unwrap_dek(const core::KekRef& kek, ByteView wrapped, ByteView aad) {
    return with_kek(kek, [&](SessionPool::Lease& lease, CK_OBJECT_HANDLE handle) {
        return unwrap_in(lease, kek.suite, handle, wrapped, aad);
    });
}

Result<Bytes> P11Hsm::rewrap_dek(const core::KekRef& from, ByteView wrapped, ByteView from_aad,
                                 const core::KekRef& to, ByteView to_aad, std::size_t dek_size) {
    if (from.suite != Suite::kwp || to.suite != Suite::kwp) {
        // Across suites (or GCM to GCM) the DEK passes through host memory, wiped after use.
        KW_TRY(auto dek, unwrap_dek(from, wrapped, from_aad));
        if (dek_size != 0 && dek.size() != dek_size) return auth_failed_error();
        return wrap_dek(to, dek, to_aad);
    }
    KW_TRY_STATUS(require_suite(Suite::kwp));
    if (wrapped.size() < 16 || wrapped.size() % 8 != 0) return auth_failed_error();
    if (dek_size != 0) {
        // RFC 5649 output is 8 * ceil(n / 8) + 8 bytes: another size cannot hold that key.
        if (wrapped.size() != kwp_wrapped_size(dek_size)) return auth_failed_error();
        KW_TRY_STATUS(require_kwp_length(dek_size));
    }
    // A token that zero-pads (quirk kwp-zero-pads) would silently turn a key of another length
    // into a longer one: when the caller cannot say the length, ask the token. Where
    // CKA_VALUE_LEN reads 0 (quirk value-len-zero) the question is the length of CKA_VALUE
    // itself, which a sensitive key will not tell: the key is then unwrapped non-sensitive (a
    // session object of this session, destroyed right after; its value is never read).
    const bool ask_length = dek_size == 0 && quirks_.kwp_zero_pads;
    const bool sensitive = !ask_length || !quirks_.value_len_zero;
    KW_TRY(auto lease, this->lease());
    const Session& s = lease.session();
    const CK_MECHANISM_TYPE mech = *mechanisms_.suite1;
    for (int attempt = 0;; ++attempt) {
        KW_TRY(CK_OBJECT_HANDLE from_handle, kek_handle(s, from));
        KW_TRY(CK_OBJECT_HANDLE to_handle, kek_handle(s, to));
        // Otherwise the DEK becomes a sensitive session object: it is wrapped again without
        // ever being readable on the host.
        auto result = [&]() -> Result<Bytes> {
            KW_TRY(auto key, unwrap_key(s, mech, from_handle, wrapped, sensitive));
            lease.note_objects_created();
            if (ask_length) {
                KW_TRY(auto length, sensitive ? read_value_len_attribute(s, key.handle())
                                              : read_value_length(s, key.handle()));
                KW_TRY_STATUS(require_kwp_length(length));
            }
            return wrap_key(s, mech, to_handle, key.handle(), wrapped.size());
        }();
        if (!result.ok() && result.error().code() == Errc::not_found && attempt == 0) {
            forget_kek(from.label);
            forget_kek(to.label);
            continue;
        }
        if (!result.ok() && result.error().code() == Errc::hsm_error) lease.discard();
        return result;
    }
}

Status P11Hsm::generate_random(MutableByteView out) {
    KW_TRY(auto lease, this->lease());
    auto status = token_random(lease.session(), out);
    if (!status.ok()) lease.discard();
    return status;
}

Result<bool> P11Hsm::logged_in() {
    // Login state belongs to the token, so a working session reports it too (and a lease
    // keeps this away from a reconnect in progress).
    KW_TRY(auto lease, this->lease());
    CK_SESSION_INFO info{};
    auto c =
        KW_P11_CALL(lease.session().functions(), C_GetSessionInfo, lease.session().handle(), &info);
    if (!c.ok()) {
        lease.discard();
        return c.error(Errc::hsm_unavailable);
    }
    return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS;
}

}  // namespace keyward::p11
