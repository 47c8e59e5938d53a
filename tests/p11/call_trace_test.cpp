// SPDX-License-Identifier: Apache-2.0
// The C_* trace of the KW_P11_CALL funnel, on fake PKCS#11 functions: off by default, one line
// per call once on, with the slot or session, the CK_RV's name and the duration, and never an
// argument after the first (a PIN, a template, a buffer).
#include "support/catch_errc.hpp"

#include <unistd.h>

#include <cstdio>
#include <regex>
#include <stdexcept>
#include <string>

#include "p11/call_trace.hpp"
#include "p11/rv.hpp"

using keyward::p11::call;
using keyward::p11::call_target;
using keyward::p11::CallTarget;

namespace {

// Sends this process's stderr to a temporary file while it lives.
class StderrCapture {
  public:
    StderrCapture() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO)) {
        if (file_ == nullptr || saved_ < 0) throw std::runtime_error("cannot capture stderr");
        ::dup2(::fileno(file_), STDERR_FILENO);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    ~StderrCapture() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        std::fclose(file_);
    }
    std::string text() const {
        std::string out;
        char buf[512];
        ssize_t n = 0;
        off_t at = 0;
        while ((n = ::pread(::fileno(file_), buf, sizeof buf, at)) > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            at += n;
        }
        return out;
    }

  private:
    std::FILE* file_;
    int saved_;
};

CK_RV fake_wrap(CK_SESSION_HANDLE, CK_MECHANISM*, CK_OBJECT_HANDLE, CK_OBJECT_HANDLE, CK_BYTE*,
                CK_ULONG*) {
    return CKR_OK;
}
CK_RV fake_login(CK_SESSION_HANDLE, CK_USER_TYPE, CK_UTF8CHAR*, CK_ULONG) {
    return CKR_PIN_INCORRECT;
}
CK_RV fake_token_info(CK_SLOT_ID, CK_TOKEN_INFO*) {
    return CKR_TOKEN_NOT_PRESENT;
}
CK_RV fake_slot_list(CK_BBOOL, CK_SLOT_ID*, CK_ULONG*) {
    return CKR_OK;
}
CK_RV fake_initialize(void*) {
    return CKR_OK;
}
CK_RV fake_vendor(CK_SESSION_HANDLE) {
    return (CK_RV{1} << 31) + 0x12;
}

// The line of one call: function, target, CK_RV, duration in ms with 3 decimals.
bool is_trace_line(const std::string& text, const std::string& call_and_rv) {
    const std::regex line("keyward p11: " + call_and_rv + " [0-9]+\\.[0-9]{3} ms\n");
    return std::regex_match(text, line);
}

}  // namespace

TEST_CASE("every C_* call goes through the funnel untraced until the trace is on") {
    REQUIRE_FALSE(keyward::p11::call_trace_enabled());  // KEYWARD_DEBUG is not set here
    StderrCapture err;
    CK_ULONG size = 0;
    CHECK(
        call("C_WrapKey", fake_wrap, CK_ULONG{3}, nullptr, CK_ULONG{1}, CK_ULONG{2}, nullptr, &size)
            .ok());
    CHECK(err.text().empty());
}

TEST_CASE("a traced call is one line: slot or session, CK_RV name, duration") {
    keyward::p11::enable_call_trace();
    REQUIRE(keyward::p11::call_trace_enabled());
    CK_ULONG size = 0;
    {
        StderrCapture err;
        auto c = call("C_WrapKey", fake_wrap, CK_ULONG{3}, nullptr, CK_ULONG{1}, CK_ULONG{2},
                      nullptr, &size);
        CHECK(c.ok());
        CHECK(is_trace_line(err.text(), "C_WrapKey\\(session=0x3\\) -> CKR_OK"));
    }
    {
        StderrCapture err;
        CK_TOKEN_INFO info{};
        CHECK(call("C_GetTokenInfo", fake_token_info, CK_ULONG{1724155958}, &info).rv() ==
              CKR_TOKEN_NOT_PRESENT);
        CHECK(is_trace_line(err.text(),
                            "C_GetTokenInfo\\(slot=1724155958\\) -> CKR_TOKEN_NOT_PRESENT"));
    }
    {
        StderrCapture err;
        (void)call("C_GetSlotList", fake_slot_list, CK_BBOOL{CK_TRUE}, nullptr, &size);
        (void)call("C_Initialize", fake_initialize, nullptr);
        CHECK(err.text().find("keyward p11: C_GetSlotList() -> CKR_OK ") == 0);
        CHECK(err.text().find("\nkeyward p11: C_Initialize() -> CKR_OK ") != std::string::npos);
    }
    {
        StderrCapture err;
        (void)call("C_Logout", fake_vendor, CK_ULONG{255});
        CHECK(is_trace_line(err.text(), "C_Logout\\(session=0xff\\) -> CKR_VENDOR_DEFINED\\+0x12"));
    }
}

TEST_CASE("the trace never carries an argument after the slot or session: a PIN stays out") {
    keyward::p11::enable_call_trace();
    std::string pin = "trace-test-PIN-4711";
    StderrCapture err;
    auto c = call("C_Login", fake_login, CK_ULONG{5}, CK_USER_TYPE{CKU_USER},
                  reinterpret_cast<CK_UTF8CHAR*>(pin.data()), static_cast<CK_ULONG>(pin.size()));
    CHECK(c.rv() == CKR_PIN_INCORRECT);
    const std::string text = err.text();
    CHECK(is_trace_line(text, "C_Login\\(session=0x5\\) -> CKR_PIN_INCORRECT"));
    CHECK(text.find(pin) == std::string::npos);
    CHECK(text.find("4711") == std::string::npos);
}

TEST_CASE("functions are told apart by what their first argument is") {
    CHECK(call_target("C_OpenSession") == CallTarget::slot);
    CHECK(call_target("C_GetMechanismInfo") == CallTarget::slot);
    CHECK(call_target("C_InitToken") == CallTarget::slot);
    CHECK(call_target("C_Initialize") == CallTarget::none);
    CHECK(call_target("C_GetInfo") == CallTarget::none);
    CHECK(call_target("C_GetInterface") == CallTarget::none);
    CHECK(call_target("C_Login") == CallTarget::session);
    CHECK(call_target("C_UnwrapKey") == CallTarget::session);
    CHECK(call_target("C_CloseSession") == CallTarget::session);
}

TEST_CASE("a trace note is one line, only while the trace is on") {
    keyward::p11::enable_call_trace();
    StderrCapture err;
    keyward::p11::trace_note("quirks of token \"t\": login-guard");
    CHECK(err.text() == "keyward p11: quirks of token \"t\": login-guard\n");
}
