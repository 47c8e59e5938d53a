// SPDX-License-Identifier: Apache-2.0
// keywardd's rotations (see rotator.hpp).
#include "rotator.hpp"

#include <cstdio>
#include <ctime>
#include <future>

#include "iso_time.hpp"

namespace keyward::service {

Rotator::Rotator(Keyward& kw, std::chrono::milliseconds check_every) : kw_(kw) {
    if (check_every.count() > 0)
        checker_ = std::thread([this, check_every] { check_loop(check_every); });
}

void Rotator::stop() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_all();
}

Rotator::~Rotator() {
    stop();
    if (checker_.joinable()) checker_.join();
    std::lock_guard lock(mutex_);
    for (auto& job : jobs_) job->thread.join();
}

void Rotator::reap_locked() {
    for (auto it = jobs_.begin(); it != jobs_.end();) {
        if ((*it)->done) {
            (*it)->thread.join();
            it = jobs_.erase(it);
        } else {
            ++it;
        }
    }
}

Result<RotationReport> Rotator::rotate(const std::string& keyring, const CallContext& who) {
    auto activated = std::make_shared<std::promise<Result<RotationReport>>>();
    auto answer = activated->get_future();
    auto answered = std::make_shared<std::atomic<bool>>(false);
    auto job = std::make_unique<Job>();
    job->keyring = keyring;
    Job* me = job.get();
    // The previous rotation's job holds the keyring's lease until its re-wrap ends; a second
    // one started meanwhile would resume it instead of making a version. Checked and taken
    // under one lock, so two requests at once cannot both start.
    std::unique_lock lock(mutex_);
    const auto give_up = std::chrono::steady_clock::now() + kWaitForPrevious;
    for (;;) {
        if (stop_) return Error(Errc::hsm_unavailable, "keywardd is stopping");
        bool busy = false;
        for (const auto& j : jobs_) busy = busy || (j->keyring == keyring && !j->done);
        if (!busy) break;
        if (std::chrono::steady_clock::now() > give_up) {
            return Error(Errc::conflict,
                         "the previous rotation of key " + keyring +
                             " is still re-wrapping stored records; rotate again when it has "
                             "finished (keyward keyring history " +
                             keyring + ")");
        }
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        lock.lock();
    }
    {
        reap_locked();
        ++running_;
        me->thread = std::thread([this, keyring, who, activated, answered, me] {
            auto scope = kw_.act_as(who);
            RotateOptions options;
            options.stop = &stop_;
            options.activated = [&](const RotationReport& r) {
                if (!answered->exchange(true)) activated->set_value(r);
            };
            auto result = kw_.rotate_keyring(keyring, options);
            if (!answered->exchange(true)) {
                // It failed (or finished) before a version became active.
                if (result.ok()) {
                    activated->set_value(*result);
                } else {
                    activated->set_value(result.error());
                }
            } else if (!result.ok()) {
                std::fprintf(stderr, "keywardd: re-wrap of keyring %s after rotation: %s\n",
                             keyring.c_str(), result.error().message().c_str());
            }
            --running_;
            me->done = true;
        });
        jobs_.push_back(std::move(job));
    }
    lock.unlock();
    return answer.get();
}

void Rotator::check_loop(std::chrono::milliseconds every) {
    std::unique_lock lock(mutex_);
    while (!stop_) {
        wake_.wait_for(lock, every, [this] { return stop_.load(); });
        if (stop_) break;
        lock.unlock();
        rotate_due();
        lock.lock();
    }
}

void Rotator::rotate_due() {
    // As the service's own principal: its grants decide which keyrings it may rotate.
    auto rings = kw_.keyrings();
    if (!rings.ok()) return;
    const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    for (const auto& ring : *rings) {
        const std::uint64_t period = ring.policy.auto_rotate_period_seconds;
        if (period == 0) continue;
        // Vault's rule: the newest version's age, so that a rollback (which makes an older
        // version active again) does not set off a rotation at once.
        const KekVersionInfo* newest = nullptr;
        for (const auto& v : ring.versions) {
            if (newest == nullptr || v.version > newest->version) newest = &v;
        }
        if (newest != nullptr) {
            const std::int64_t made = unix_of(newest->created_at);
            if (made == 0 || now - made < static_cast<std::int64_t>(period)) continue;
            CallContext who;
            who.principal = kw_.principal();
            who.request_id = "auto-rotate";
            auto rotated = rotate(ring.name, who);
            std::fprintf(stderr, "keywardd: auto-rotate %s: %s\n", ring.name.c_str(),
                         rotated.ok()
                             ? ("v" + std::to_string(rotated->to_version) + " active").c_str()
                             : rotated.error().message().c_str());
        }
    }
}

}  // namespace keyward::service
