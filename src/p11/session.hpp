// SPDX-License-Identifier: Apache-2.0
// RAII PKCS#11 session: opened on a slot, closed (C_CloseSession) when the object dies. It keeps
// its module alive, so a session can never outlive the function list it calls.
#pragma once

#include <sys/types.h>

#include <memory>

#include "keyward/error.hpp"
#include "p11/module.hpp"
#include "p11/pkcs11.hpp"

namespace keyward::p11 {

class Session {
  public:
    /// C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION when rw).
    static Result<Session> open(std::shared_ptr<Module> module, CK_SLOT_ID slot, bool rw = true);

    Session() = default;
    Session(Session&& other) noexcept;
    Session& operator=(Session&& other) noexcept;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { close(); }

    /// C_CloseSession now (no-op when empty, and in a forked child, whose sessions belong to the
    /// parent's module state). Closing the token's last session logs it out.
    void close() noexcept;

    bool is_open() const noexcept { return handle_ != CK_INVALID_HANDLE; }
    CK_SESSION_HANDLE handle() const noexcept { return handle_; }
    CK_FUNCTION_LIST* functions() const noexcept { return functions_; }
    CK_SLOT_ID slot() const noexcept { return slot_; }

  private:
    std::shared_ptr<Module> module_;
    CK_FUNCTION_LIST* functions_ = nullptr;
    CK_SESSION_HANDLE handle_ = CK_INVALID_HANDLE;
    CK_SLOT_ID slot_ = 0;
    pid_t pid_ = 0;
};

}  // namespace keyward::p11
