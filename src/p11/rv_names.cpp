// SPDX-License-Identifier: Apache-2.0
// CK_RV to text for error messages, and the Call funnel's error construction. The table covers
// PKCS#11 2.40 and 3.0 (numbers written out: p11-kit 0.24's header lacks some 3.0 codes and
// numbers CKR_EXCEEDED_MAX_ITERATIONS..CKR_PUBLIC_KEY_INVALID differently from the standard).
#include <array>
#include <cstdio>
#include <string>

#include "p11/rv.hpp"

namespace keyward::p11 {

namespace {

struct RvName {
    CK_RV rv;
    const char* name;
};

constexpr std::array kRvNames = {
    RvName{0x000, "CKR_OK"},
    RvName{0x001, "CKR_CANCEL"},
    RvName{0x002, "CKR_HOST_MEMORY"},
    RvName{0x003, "CKR_SLOT_ID_INVALID"},
    RvName{0x005, "CKR_GENERAL_ERROR"},
    RvName{0x006, "CKR_FUNCTION_FAILED"},
    RvName{0x007, "CKR_ARGUMENTS_BAD"},
    RvName{0x008, "CKR_NO_EVENT"},
    RvName{0x009, "CKR_NEED_TO_CREATE_THREADS"},
    RvName{0x00A, "CKR_CANT_LOCK"},
    RvName{0x010, "CKR_ATTRIBUTE_READ_ONLY"},
    RvName{0x011, "CKR_ATTRIBUTE_SENSITIVE"},
    RvName{0x012, "CKR_ATTRIBUTE_TYPE_INVALID"},
    RvName{0x013, "CKR_ATTRIBUTE_VALUE_INVALID"},
    RvName{0x01B, "CKR_ACTION_PROHIBITED"},
    RvName{0x020, "CKR_DATA_INVALID"},
    RvName{0x021, "CKR_DATA_LEN_RANGE"},
    RvName{0x030, "CKR_DEVICE_ERROR"},
    RvName{0x031, "CKR_DEVICE_MEMORY"},
    RvName{0x032, "CKR_DEVICE_REMOVED"},
    RvName{0x035, "CKR_AEAD_DECRYPT_FAILED"},
    RvName{0x040, "CKR_ENCRYPTED_DATA_INVALID"},
    RvName{0x041, "CKR_ENCRYPTED_DATA_LEN_RANGE"},
    RvName{0x050, "CKR_FUNCTION_CANCELED"},
    RvName{0x051, "CKR_FUNCTION_NOT_PARALLEL"},
    RvName{0x054, "CKR_FUNCTION_NOT_SUPPORTED"},
    RvName{0x060, "CKR_KEY_HANDLE_INVALID"},
    RvName{0x062, "CKR_KEY_SIZE_RANGE"},
    RvName{0x063, "CKR_KEY_TYPE_INCONSISTENT"},
    RvName{0x064, "CKR_KEY_NOT_NEEDED"},
    RvName{0x065, "CKR_KEY_CHANGED"},
    RvName{0x066, "CKR_KEY_NEEDED"},
    RvName{0x067, "CKR_KEY_INDIGESTIBLE"},
    RvName{0x068, "CKR_KEY_FUNCTION_NOT_PERMITTED"},
    RvName{0x069, "CKR_KEY_NOT_WRAPPABLE"},
    RvName{0x06A, "CKR_KEY_UNEXTRACTABLE"},
    RvName{0x070, "CKR_MECHANISM_INVALID"},
    RvName{0x071, "CKR_MECHANISM_PARAM_INVALID"},
    RvName{0x082, "CKR_OBJECT_HANDLE_INVALID"},
    RvName{0x090, "CKR_OPERATION_ACTIVE"},
    RvName{0x091, "CKR_OPERATION_NOT_INITIALIZED"},
    RvName{0x0A0, "CKR_PIN_INCORRECT"},
    RvName{0x0A1, "CKR_PIN_INVALID"},
    RvName{0x0A2, "CKR_PIN_LEN_RANGE"},
    RvName{0x0A3, "CKR_PIN_EXPIRED"},
    RvName{0x0A4, "CKR_PIN_LOCKED"},
    RvName{0x0B0, "CKR_SESSION_CLOSED"},
    RvName{0x0B1, "CKR_SESSION_COUNT"},
    RvName{0x0B3, "CKR_SESSION_HANDLE_INVALID"},
    RvName{0x0B4, "CKR_SESSION_PARALLEL_NOT_SUPPORTED"},
    RvName{0x0B5, "CKR_SESSION_READ_ONLY"},
    RvName{0x0B6, "CKR_SESSION_EXISTS"},
    RvName{0x0B7, "CKR_SESSION_READ_ONLY_EXISTS"},
    RvName{0x0B8, "CKR_SESSION_READ_WRITE_SO_EXISTS"},
    RvName{0x0C0, "CKR_SIGNATURE_INVALID"},
    RvName{0x0C1, "CKR_SIGNATURE_LEN_RANGE"},
    RvName{0x0D0, "CKR_TEMPLATE_INCOMPLETE"},
    RvName{0x0D1, "CKR_TEMPLATE_INCONSISTENT"},
    RvName{0x0E0, "CKR_TOKEN_NOT_PRESENT"},
    RvName{0x0E1, "CKR_TOKEN_NOT_RECOGNIZED"},
    RvName{0x0E2, "CKR_TOKEN_WRITE_PROTECTED"},
    RvName{0x0F0, "CKR_UNWRAPPING_KEY_HANDLE_INVALID"},
    RvName{0x0F1, "CKR_UNWRAPPING_KEY_SIZE_RANGE"},
    RvName{0x0F2, "CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT"},
    RvName{0x100, "CKR_USER_ALREADY_LOGGED_IN"},
    RvName{0x101, "CKR_USER_NOT_LOGGED_IN"},
    RvName{0x102, "CKR_USER_PIN_NOT_INITIALIZED"},
    RvName{0x103, "CKR_USER_TYPE_INVALID"},
    RvName{0x104, "CKR_USER_ANOTHER_ALREADY_LOGGED_IN"},
    RvName{0x105, "CKR_USER_TOO_MANY_TYPES"},
    RvName{0x110, "CKR_WRAPPED_KEY_INVALID"},
    RvName{0x112, "CKR_WRAPPED_KEY_LEN_RANGE"},
    RvName{0x113, "CKR_WRAPPING_KEY_HANDLE_INVALID"},
    RvName{0x114, "CKR_WRAPPING_KEY_SIZE_RANGE"},
    RvName{0x115, "CKR_WRAPPING_KEY_TYPE_INCONSISTENT"},
    RvName{0x120, "CKR_RANDOM_SEED_NOT_SUPPORTED"},
    RvName{0x121, "CKR_RANDOM_NO_RNG"},
    RvName{0x130, "CKR_DOMAIN_PARAMS_INVALID"},
    RvName{0x140, "CKR_CURVE_NOT_SUPPORTED"},
    RvName{0x150, "CKR_BUFFER_TOO_SMALL"},
    RvName{0x160, "CKR_SAVED_STATE_INVALID"},
    RvName{0x170, "CKR_INFORMATION_SENSITIVE"},
    RvName{0x180, "CKR_STATE_UNSAVEABLE"},
    RvName{0x190, "CKR_CRYPTOKI_NOT_INITIALIZED"},
    RvName{0x191, "CKR_CRYPTOKI_ALREADY_INITIALIZED"},
    RvName{0x1A0, "CKR_MUTEX_BAD"},
    RvName{0x1A1, "CKR_MUTEX_NOT_LOCKED"},
    RvName{0x1B0, "CKR_NEW_PIN_MODE"},
    RvName{0x1B1, "CKR_NEXT_OTP"},
    RvName{0x1B5, "CKR_EXCEEDED_MAX_ITERATIONS"},
    RvName{0x1B6, "CKR_FIPS_SELF_TEST_FAILED"},
    RvName{0x1B7, "CKR_LIBRARY_LOAD_FAILED"},
    RvName{0x1B8, "CKR_PIN_TOO_WEAK"},
    RvName{0x1B9, "CKR_PUBLIC_KEY_INVALID"},
    // p11-kit's (and old GnuPG) numbering of the five above; some modules were built with it.
    RvName{0x1C0, "CKR_EXCEEDED_MAX_ITERATIONS"},
    RvName{0x1C1, "CKR_FIPS_SELF_TEST_FAILED"},
    RvName{0x1C2, "CKR_LIBRARY_LOAD_FAILED"},
    RvName{0x1C3, "CKR_PIN_TOO_WEAK"},
    RvName{0x1C4, "CKR_PUBLIC_KEY_INVALID"},
    RvName{0x200, "CKR_FUNCTION_REJECTED"},
    RvName{0x201, "CKR_TOKEN_RESOURCE_EXCEEDED"},
    RvName{0x202, "CKR_OPERATION_CANCEL_FAILED"},
    RvName{0x203, "CKR_KEY_EXHAUSTED"},
    RvName{0x204, "CKR_PENDING"},
    RvName{0x205, "CKR_SESSION_ASYNC_NOT_SUPPORTED"},
    RvName{0x206, "CKR_SEED_RANDOM_REQUIRED"},
    RvName{0x207, "CKR_OPERATION_NOT_VALIDATED"},
    RvName{0x208, "CKR_TOKEN_NOT_INITIALIZED"},
    RvName{0x209, "CKR_PARAMETER_SET_NOT_SUPPORTED"},
};

constexpr CK_RV kVendorDefined = CK_RV{1} << 31;

std::string hex(CK_RV v) {
    char buf[2 + 2 * sizeof(CK_RV) + 1];
    std::snprintf(buf, sizeof buf, "0x%lx", v);
    return buf;
}

}  // namespace

const char* known_rv_name(CK_RV rv) noexcept {
    for (const auto& entry : kRvNames) {
        if (entry.rv == rv) return entry.name;
    }
    return nullptr;
}

std::string rv_name(CK_RV rv) {
    if (const char* name = known_rv_name(rv)) return name;
    if ((rv & kVendorDefined) != 0) return "CKR_VENDOR_DEFINED+" + hex(rv & ~kVendorDefined);
    return "CKR_" + hex(rv);
}

Error Call::error(Errc code) const {
    std::string message(function_);
    message += ": ";
    message += rv_name(rv_);
    // One place decides that a lost token is "HSM unavailable", whichever call noticed it.
    if (code == Errc::hsm_error && is_token_lost(rv_)) {
        message +=
            " (the token is no longer reachable: check the HSM and its connection, then "
            "retry)";
        return Error(Errc::hsm_unavailable, std::move(message));
    }
    return Error(code, std::move(message));
}

bool is_token_lost(CK_RV rv) noexcept {
    switch (rv) {
        case CKR_DEVICE_REMOVED:
        case CKR_DEVICE_ERROR:
        case CKR_DEVICE_MEMORY:
        case CKR_TOKEN_NOT_PRESENT:
        case CKR_TOKEN_NOT_RECOGNIZED:
        case CKR_SESSION_HANDLE_INVALID:
        case CKR_SESSION_CLOSED:
        case CKR_USER_NOT_LOGGED_IN:
        case CKR_CRYPTOKI_NOT_INITIALIZED:
        case CKR_SLOT_ID_INVALID:
            return true;
        default:
            return false;
    }
}

Status Call::status(std::initializer_list<RvMapping> mappings) const {
    if (ok()) return ok_status();
    for (const auto& m : mappings) {
        if (m.rv != rv_) continue;
        if (!m.message.empty()) return Error(m.code, std::string(m.message));
        return error(m.code);
    }
    return error(Errc::hsm_error);
}

bool is_integrity_failure(CK_RV rv) noexcept {
    switch (rv) {
        case CKR_GENERAL_ERROR:  // SoftHSM 2.6: bad KWP ICV, bad GCM tag
        case CKR_WRAPPED_KEY_INVALID:
        case CKR_WRAPPED_KEY_LEN_RANGE:
        case CKR_ENCRYPTED_DATA_INVALID:
        case CKR_ENCRYPTED_DATA_LEN_RANGE:
        case CKR_DATA_INVALID:
        case CKR_DATA_LEN_RANGE:
        case CKR_SIGNATURE_INVALID:
        case 0x035:  // CKR_AEAD_DECRYPT_FAILED (PKCS#11 3.0)
            return true;
        default:
            return false;
    }
}

Error auth_failed_error() {
    return Error(Errc::auth_failed, std::string(kAuthFailedMessage));
}

}  // namespace keyward::p11
