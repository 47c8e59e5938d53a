// SPDX-License-Identifier: Apache-2.0
// A bounded pool of read-write working sessions on one token, so several threads can use the
// token at once (a PKCS#11 session serves one operation at a time). Sessions are opened lazily,
// leased with RAII, and replaced after a number of objects were created in them (a token may
// tie per-object memory to the session). The pool also counts every object made through it and
// can run work while no lease is out and none can be taken: P11Hsm reconnects the module there
// (quirk reconnect-after, quirks.hpp: SoftHSM 2.6.1 keeps every session object's memory until
// C_Finalize).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "keyward/error.hpp"
#include "p11/module.hpp"
#include "p11/session.hpp"

namespace keyward::p11 {

struct PoolStats {
    std::size_t open = 0;  // sessions open now (idle + leased)
    std::size_t idle = 0;
    std::size_t opened = 0;     // C_OpenSession calls so far
    std::size_t recycled = 0;   // closed because they reached the object limit
    std::size_t discarded = 0;  // closed because an operation left them in doubt
};

class SessionPool {
  public:
    /// max_sessions >= 1; recycle_after >= 1 (objects created before a session is replaced).
    SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot, std::size_t max_sessions,
                std::size_t recycle_after);
    SessionPool(const SessionPool&) = delete;
    SessionPool& operator=(const SessionPool&) = delete;
    ~SessionPool();

    /// A working session for the lease's lifetime; returned to the pool (or closed) when the
    /// lease dies. The pool must outlive its leases.
    class Lease {
      public:
        Lease(Lease&& other) noexcept;
        Lease& operator=(Lease&&) = delete;
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease();

        const Session& session() const noexcept { return session_; }
        /// Count objects created in this session (C_CreateObject, C_UnwrapKey, C_GenerateKey).
        void note_objects_created(std::size_t n = 1) noexcept {
            objects_ += n;
            pool_->created_.fetch_add(n, std::memory_order_relaxed);
        }
        /// Close the session instead of reusing it (after an unexpected error that may have
        /// left an operation active or the session invalid).
        void discard() noexcept { discard_ = true; }

      private:
        friend class SessionPool;
        Lease(SessionPool* pool, Session session, std::size_t objects) noexcept
            : pool_(pool), session_(std::move(session)), objects_(objects) {}
        SessionPool* pool_;
        Session session_;
        std::size_t objects_;
        bool discard_ = false;
    };

    /// Waits while every session is leased and the pool is full, or while exclusive work
    /// runs. Errc::hsm_error when a new session cannot be opened and none is open to wait for.
    Result<Lease> acquire();

    /// Objects created in leased sessions since the pool was made or last rebound.
    std::size_t objects_created() const noexcept {
        return created_.load(std::memory_order_relaxed);
    }

    /// Waits until every lease is back, closes every session, and runs work() while no lease
    /// can be taken (acquire() waits). When another thread's exclusive work is already running,
    /// waits for it to end and returns without running work (it did the same job). Must not be
    /// called while the caller holds a lease: that lease would never come back.
    Status exclusive(const std::function<Status()>& work);

    /// For exclusive work only: the module and slot later sessions are opened on, the object
    /// count starting again from zero; nullptr drops the pool's reference, so that the module
    /// can be finalised, and acquire() fails (hsm_unavailable) until the pool is bound again.
    void rebind(std::shared_ptr<Module> module, CK_SLOT_ID slot);

    /// From now on acquire() fails with `why` (the module could not be connected again).
    void close_for_good(Error why);

    PoolStats stats() const;

    /// Closes the idle sessions (leased ones close when returned).
    void close_idle() noexcept;

  private:
    struct Idle {
        Session session;
        std::size_t objects = 0;
    };
    void give_back(Session session, std::size_t objects, bool discard) noexcept;

    std::shared_ptr<Module> module_;
    CK_SLOT_ID slot_;
    std::size_t recycle_after_;
    std::atomic<std::size_t> created_{0};
    bool exclusive_ = false;  // under mutex_
    std::optional<Error> closed_for_good_;

    mutable std::mutex mutex_;
    std::condition_variable available_;
    std::size_t max_sessions_;
    std::vector<Idle> idle_;
    PoolStats stats_;
};

}  // namespace keyward::p11
