// SPDX-License-Identifier: Apache-2.0
// The CK_RV funnel: names, error messages and mappings.
#include "support/catch_errc.hpp"

#include "p11/rv.hpp"

using keyward::Errc;
using keyward::p11::Call;
using keyward::p11::rv_name;

TEST_CASE("CK_RVs are named as the standard names them") {
    CHECK(rv_name(CKR_OK) == "CKR_OK");
    CHECK(rv_name(CKR_PIN_INCORRECT) == "CKR_PIN_INCORRECT");
    CHECK(rv_name(CKR_GENERAL_ERROR) == "CKR_GENERAL_ERROR");
    CHECK(rv_name(CKR_WRAPPED_KEY_INVALID) == "CKR_WRAPPED_KEY_INVALID");
    CHECK(rv_name(CKR_CRYPTOKI_ALREADY_INITIALIZED) == "CKR_CRYPTOKI_ALREADY_INITIALIZED");
    CHECK(rv_name(0x1B8) == "CKR_PIN_TOO_WEAK");
    CHECK(rv_name(0x35) == "CKR_AEAD_DECRYPT_FAILED");
    CHECK(rv_name((CK_RV{1} << 31) + 0x12) == "CKR_VENDOR_DEFINED+0x12");
    CHECK(rv_name(0x9999) == "CKR_0x9999");
}

TEST_CASE("a failed call becomes an error naming the function and the CK_RV") {
    Call c("C_WrapKey", CKR_KEY_HANDLE_INVALID);
    CHECK_FALSE(c.ok());
    auto s = c.status();
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == Errc::hsm_error);
    CHECK(s.error().message() == "C_WrapKey: CKR_KEY_HANDLE_INVALID");
    CHECK(Call("C_Login", CKR_OK).status().ok());
}

TEST_CASE("a token lost in the middle of an operation is hsm_unavailable, exit 6") {
    for (CK_RV rv :
         {CKR_DEVICE_REMOVED, CKR_DEVICE_ERROR, CKR_TOKEN_NOT_PRESENT, CKR_SESSION_HANDLE_INVALID,
          CKR_SESSION_CLOSED, CKR_USER_NOT_LOGGED_IN, CKR_CRYPTOKI_NOT_INITIALIZED}) {
        auto e = Call("C_WrapKey", rv).error(Errc::hsm_error);
        INFO(rv);
        CHECK(e.code() == Errc::hsm_unavailable);
        CHECK(e.exit_code() == 6);
        CHECK_THAT(e.message(), Catch::Contains("no longer reachable"));
    }
    // A deliberate mapping by the caller is kept.
    CHECK(Call("C_Login", CKR_USER_NOT_LOGGED_IN).error(Errc::pin_incorrect).code() ==
          Errc::pin_incorrect);
}

TEST_CASE("callers map chosen CK_RVs to their own codes and messages") {
    Call c("C_UnwrapKey", CKR_GENERAL_ERROR);
    auto s = c.status({{CKR_GENERAL_ERROR, Errc::auth_failed, "authentication failed"}});
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code() == Errc::auth_failed);
    CHECK(s.error().message() == "authentication failed");

    auto other = Call("C_UnwrapKey", CKR_FUNCTION_FAILED)
                     .status({{CKR_GENERAL_ERROR, Errc::auth_failed, "authentication failed"}});
    CHECK(other.error().code() == Errc::hsm_error);
    CHECK(other.error().message() == "C_UnwrapKey: CKR_FUNCTION_FAILED");

    auto no_message = Call("C_Login", CKR_PIN_LOCKED).status({{CKR_PIN_LOCKED, Errc::pin_locked}});
    CHECK(no_message.error().code() == Errc::pin_locked);
    CHECK(no_message.error().message() == "C_Login: CKR_PIN_LOCKED");
}

TEST_CASE("integrity failures from unwrap and decrypt are recognised, others are not") {
    for (CK_RV rv : {CKR_GENERAL_ERROR, CKR_WRAPPED_KEY_INVALID, CKR_WRAPPED_KEY_LEN_RANGE,
                     CKR_ENCRYPTED_DATA_INVALID, CKR_ENCRYPTED_DATA_LEN_RANGE, CKR_DATA_INVALID,
                     CKR_DATA_LEN_RANGE, CK_RV{0x35}}) {
        CHECK(keyward::p11::is_integrity_failure(rv));
    }
    for (CK_RV rv : {CKR_OK, CKR_DEVICE_ERROR, CKR_KEY_HANDLE_INVALID, CKR_SESSION_HANDLE_INVALID,
                     CKR_HOST_MEMORY}) {
        CHECK_FALSE(keyward::p11::is_integrity_failure(rv));
    }
}
