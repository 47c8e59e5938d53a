// SPDX-License-Identifier: Apache-2.0
// The working-session pool: lazy opening, leasing, recycling.
#include "p11/session_pool.hpp"

#include <utility>

#include "p11/rv.hpp"

namespace keyward::p11 {

SessionPool::SessionPool(std::shared_ptr<Module> module, CK_SLOT_ID slot, std::size_t max_sessions,
                         std::size_t recycle_after)
    : module_(std::move(module)),
      slot_(slot),
      recycle_after_(recycle_after == 0 ? 1 : recycle_after),
      max_sessions_(max_sessions == 0 ? 1 : max_sessions) {}

SessionPool::~SessionPool() {
    close_idle();
}

SessionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      session_(std::move(other.session_)),
      objects_(other.objects_),
      discard_(other.discard_) {}

SessionPool::Lease::~Lease() {
    if (pool_ != nullptr) pool_->give_back(std::move(session_), objects_, discard_);
}

Result<SessionPool::Lease> SessionPool::acquire() {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (exclusive_) {
            available_.wait(lock);
            continue;
        }
        if (closed_for_good_) return *closed_for_good_;
        if (!module_) {
            return Error(Errc::hsm_unavailable,
                         "the token connection is being made again and is not back yet");
        }
        if (!idle_.empty()) {
            Idle s = std::move(idle_.back());
            idle_.pop_back();
            --stats_.idle;
            return Lease(this, std::move(s.session), s.objects);
        }
        if (stats_.open < max_sessions_) {
            ++stats_.open;
            lock.unlock();
            auto opened = Session::open(module_, slot_, true);
            lock.lock();
            if (opened.ok()) {
                ++stats_.opened;
                return Lease(this, std::move(opened).value(), 0);
            }
            --stats_.open;
            available_.notify_all();  // an exclusive waiter counts open sessions
            if (stats_.open == 0 || opened.error().code() != Errc::limit_reached) {
                return std::move(opened).error().context("opening a working session");
            }
            // The token holds fewer sessions than planned (CKR_SESSION_COUNT): shrink the pool
            // to what it gave us and wait for one of those to come back. Any other failure is
            // reported, never taken for a smaller limit.
            max_sessions_ = stats_.open;
            continue;
        }
        available_.wait(lock);
    }
}

void SessionPool::give_back(Session session, std::size_t objects, bool discard) noexcept {
    bool close = discard || objects >= recycle_after_ || !session.is_open();
    if (close) session.close();  // outside the lock: C_CloseSession can take a while
    std::lock_guard lock(mutex_);
    if (close) {
        --stats_.open;
        if (discard) {
            ++stats_.discarded;
        } else {
            ++stats_.recycled;
        }
    } else {
        idle_.push_back(Idle{std::move(session), objects});
        ++stats_.idle;
    }
    // All: besides threads waiting for a session, an exclusive caller waits for the last one.
    available_.notify_all();
}

Status SessionPool::exclusive(const std::function<Status()>& work) {
    std::vector<Idle> closing;
    {
        std::unique_lock lock(mutex_);
        if (exclusive_) {
            available_.wait(lock, [&] { return !exclusive_; });
            return ok_status();
        }
        exclusive_ = true;
        available_.wait(lock, [&] { return stats_.open == stats_.idle; });
        closing.swap(idle_);
        stats_.open -= closing.size();
        stats_.idle = 0;
    }
    closing.clear();  // C_CloseSession outside the lock
    // However work() ends (bad_alloc included), the pool opens again.
    struct Reopen {
        SessionPool& pool;
        ~Reopen() {
            std::lock_guard lock(pool.mutex_);
            pool.exclusive_ = false;
            pool.available_.notify_all();
        }
    } reopen{*this};
    return work();
}

void SessionPool::close_for_good(Error why) {
    std::lock_guard lock(mutex_);
    closed_for_good_ = std::move(why);
}

void SessionPool::rebind(std::shared_ptr<Module> module, CK_SLOT_ID slot) {
    std::lock_guard lock(mutex_);
    if (module) created_.store(0, std::memory_order_relaxed);  // counts start again when bound
    module_ = std::move(module);
    slot_ = slot;
}

PoolStats SessionPool::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void SessionPool::close_idle() noexcept {
    std::vector<Idle> closing;
    {
        std::lock_guard lock(mutex_);
        closing.swap(idle_);
        stats_.open -= closing.size();
        stats_.idle = 0;
    }
    closing.clear();
}

}  // namespace keyward::p11
