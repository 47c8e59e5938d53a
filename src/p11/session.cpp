// SPDX-License-Identifier: Apache-2.0
// Opening and closing PKCS#11 sessions.
#include "p11/session.hpp"

#include <unistd.h>

#include <utility>

#include "p11/rv.hpp"

namespace keyward::p11 {

Result<Session> Session::open(std::shared_ptr<Module> module, CK_SLOT_ID slot, bool rw) {
    CK_FLAGS flags = CKF_SERIAL_SESSION | (rw ? CKF_RW_SESSION : 0);
    CK_SESSION_HANDLE handle = CK_INVALID_HANDLE;
    auto c =
        KW_P11_CALL(module->functions(), C_OpenSession, slot, flags, nullptr, nullptr, &handle);
    // "Too many sessions" is a limit the pool adapts to, not a broken token.
    if (c.rv() == CKR_SESSION_COUNT) return c.error(Errc::limit_reached);
    if (!c.ok()) return c.error();
    Session s;
    s.functions_ = module->functions();
    s.module_ = std::move(module);
    s.handle_ = handle;
    s.slot_ = slot;
    s.pid_ = getpid();
    return s;
}

Session::Session(Session&& other) noexcept
    : module_(std::move(other.module_)),
      functions_(other.functions_),
      handle_(std::exchange(other.handle_, CK_INVALID_HANDLE)),
      slot_(other.slot_),
      pid_(other.pid_) {}

Session& Session::operator=(Session&& other) noexcept {
    if (this != &other) {
        close();
        module_ = std::move(other.module_);
        functions_ = other.functions_;
        handle_ = std::exchange(other.handle_, CK_INVALID_HANDLE);
        slot_ = other.slot_;
        pid_ = other.pid_;
    }
    return *this;
}

void Session::close() noexcept {
    if (handle_ != CK_INVALID_HANDLE && functions_ != nullptr && pid_ == getpid()) {
        (void)KW_P11_CALL(functions_, C_CloseSession, handle_);
    }
    handle_ = CK_INVALID_HANDLE;
    module_.reset();
    functions_ = nullptr;
}

}  // namespace keyward::p11
