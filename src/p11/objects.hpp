// SPDX-License-Identifier: Apache-2.0
// RAII for token objects and searches: ObjectGuard destroys a session object when it goes out of
// scope; ObjectFinder always ends its search with C_FindObjectsFinal.
#pragma once

#include <span>
#include <utility>
#include <vector>

#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

/// Owns one object handle in a session and destroys it (C_DestroyObject) on scope exit. The
/// session must outlive the guard.
class ObjectGuard {
  public:
    ObjectGuard() = default;
    ObjectGuard(const Session& session, CK_OBJECT_HANDLE object) noexcept
        : functions_(session.functions()), session_(session.handle()), object_(object) {}
    ObjectGuard(ObjectGuard&& other) noexcept
        : functions_(other.functions_),
          session_(other.session_),
          object_(std::exchange(other.object_, CK_INVALID_HANDLE)) {}
    ObjectGuard& operator=(ObjectGuard&& other) noexcept;
    ObjectGuard(const ObjectGuard&) = delete;
    ObjectGuard& operator=(const ObjectGuard&) = delete;
    ~ObjectGuard() { destroy(); }

    CK_OBJECT_HANDLE handle() const noexcept { return object_; }
    /// Gives up ownership (the object stays).
    CK_OBJECT_HANDLE release() noexcept { return std::exchange(object_, CK_INVALID_HANDLE); }
    void destroy() noexcept;

  private:
    CK_FUNCTION_LIST* functions_ = nullptr;
    CK_SESSION_HANDLE session_ = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE object_ = CK_INVALID_HANDLE;
};

/// One C_FindObjectsInit .. C_FindObjectsFinal search. Only one search may be active per
/// session, so the session must not start another while this lives.
class ObjectFinder {
  public:
    static Result<ObjectFinder> start(const Session& session, std::span<CK_ATTRIBUTE> match);

    ObjectFinder(ObjectFinder&& other) noexcept
        : functions_(other.functions_),
          session_(std::exchange(other.session_, CK_INVALID_HANDLE)) {}
    ObjectFinder& operator=(ObjectFinder&&) = delete;
    ObjectFinder(const ObjectFinder&) = delete;
    ObjectFinder& operator=(const ObjectFinder&) = delete;
    ~ObjectFinder() { finish(); }

    /// Up to max_count further handles; empty when the search is exhausted.
    Result<std::vector<CK_OBJECT_HANDLE>> next(std::size_t max_count = 64);
    void finish() noexcept;

  private:
    ObjectFinder(CK_FUNCTION_LIST* f, CK_SESSION_HANDLE s) noexcept : functions_(f), session_(s) {}
    CK_FUNCTION_LIST* functions_;
    CK_SESSION_HANDLE session_;
};

/// Every object matching the template (SoftHSM's search is a linear scan of the token: cache
/// what you find rather than searching per operation).
Result<std::vector<CK_OBJECT_HANDLE>> find_objects(const Session& session,
                                                   std::span<CK_ATTRIBUTE> match);

}  // namespace keyward::p11
