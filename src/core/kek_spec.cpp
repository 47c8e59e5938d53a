// SPDX-License-Identifier: Apache-2.0
// Checks read-back KEK attributes against docs/FORMAT.md, attribute by attribute.
#include "core/kek_spec.hpp"

namespace keyward::core {

namespace {

std::optional<std::string> expect_bool(const char* name, const std::optional<bool>& actual,
                                       bool wanted) {
    if (!actual)
        return std::string(name) + " cannot be read, the spec requires " +
               (wanted ? "TRUE" : "FALSE");
    if (*actual != wanted) {
        return std::string(name) + " is " + (*actual ? "TRUE" : "FALSE") + ", the spec requires " +
               (wanted ? "TRUE" : "FALSE");
    }
    return std::nullopt;
}

std::optional<std::string> expect_name(const char* name, const std::optional<std::string>& actual,
                                       const char* wanted) {
    if (!actual) return std::string(name) + " cannot be read";
    if (*actual != wanted) {
        return std::string(name) + " is " + *actual + ", the spec requires " + wanted;
    }
    return std::nullopt;
}

std::optional<std::string> expect_ulong(const char* name,
                                        const std::optional<unsigned long>& actual,
                                        unsigned long wanted) {
    if (!actual) return std::string(name) + " cannot be read";
    if (*actual != wanted) {
        return std::string(name) + " is " + std::to_string(*actual) + ", the spec requires " +
               std::to_string(wanted);
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> kek_spec_mismatch(const KekAttributes& a, Suite suite,
                                             bool modifiable_allowed) {
    const bool kwp = suite == Suite::kwp;
    std::optional<std::string> checks[] = {
        expect_name("CKA_CLASS", a.object_class, "CKO_SECRET_KEY"),
        expect_name("CKA_KEY_TYPE", a.key_type, "CKK_AES"),
        expect_ulong("CKA_VALUE_LEN", a.value_len, 32),
        expect_bool("CKA_TOKEN", a.token, true),
        expect_bool("CKA_PRIVATE", a.private_, true),
        expect_bool("CKA_SENSITIVE", a.sensitive, true),
        expect_bool("CKA_EXTRACTABLE", a.extractable, false),
        expect_bool("CKA_NEVER_EXTRACTABLE", a.never_extractable, true),
        expect_bool("CKA_ALWAYS_SENSITIVE", a.always_sensitive, true),
        modifiable_allowed ? std::nullopt : expect_bool("CKA_MODIFIABLE", a.modifiable, false),
        expect_bool("CKA_WRAP", a.wrap, kwp),
        expect_bool("CKA_UNWRAP", a.unwrap, kwp),
        expect_bool("CKA_ENCRYPT", a.encrypt, !kwp),
        expect_bool("CKA_DECRYPT", a.decrypt, !kwp),
        expect_bool("CKA_SIGN", a.sign, false),
        expect_bool("CKA_VERIFY", a.verify, false),
        expect_bool("CKA_DERIVE", a.derive, false),
        // TRUE only for a key the token generated itself (and finished generating): a key
        // imported with a value someone knows never passes.
        expect_bool("CKA_LOCAL", a.local, true),
    };
    for (auto& c : checks) {
        if (c) return c;
    }
    return std::nullopt;
}

std::optional<std::string> mac_key_spec_mismatch(const KekAttributes& a, bool modifiable_allowed) {
    std::optional<std::string> checks[] = {
        expect_name("CKA_CLASS", a.object_class, "CKO_SECRET_KEY"),
        expect_name("CKA_KEY_TYPE", a.key_type, "CKK_GENERIC_SECRET"),
        expect_ulong("CKA_VALUE_LEN", a.value_len, 32),
        expect_bool("CKA_TOKEN", a.token, true),
        expect_bool("CKA_PRIVATE", a.private_, true),
        expect_bool("CKA_SENSITIVE", a.sensitive, true),
        expect_bool("CKA_EXTRACTABLE", a.extractable, false),
        expect_bool("CKA_NEVER_EXTRACTABLE", a.never_extractable, true),
        expect_bool("CKA_ALWAYS_SENSITIVE", a.always_sensitive, true),
        modifiable_allowed ? std::nullopt : expect_bool("CKA_MODIFIABLE", a.modifiable, false),
        expect_bool("CKA_WRAP", a.wrap, false),
        expect_bool("CKA_UNWRAP", a.unwrap, false),
        expect_bool("CKA_ENCRYPT", a.encrypt, false),
        expect_bool("CKA_DECRYPT", a.decrypt, false),
        expect_bool("CKA_SIGN", a.sign, true),
        expect_bool("CKA_VERIFY", a.verify, true),
        expect_bool("CKA_DERIVE", a.derive, false),
        expect_bool("CKA_LOCAL", a.local, true),
    };
    for (auto& c : checks) {
        if (c) return c;
    }
    return std::nullopt;
}

}  // namespace keyward::core
