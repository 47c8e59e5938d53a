// SPDX-License-Identifier: Apache-2.0
// keywardd's rotations: `POST keys/:name/rotate` answers once the new KEK version is active,
// while the re-wrap of the keyring's stored records goes on here as keyward's resumable job;
// and the keyrings whose policy sets an auto-rotate period are rotated when it has passed.
// On shutdown a running job stops after its current batch (the next rotate resumes it).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "keyward/keyward.hpp"

namespace keyward::service {

class Rotator {
  public:
    /// check_every: how often keyrings are checked for their auto-rotate period (0: never).
    Rotator(Keyward& kw, std::chrono::milliseconds check_every);
    ~Rotator();
    Rotator(const Rotator&) = delete;
    Rotator& operator=(const Rotator&) = delete;

    /// Starts a rotation of the keyring as `who` and returns once its new version is active
    /// (the report then), or the job's error if it failed before that. A rotation of a keyring
    /// whose previous re-wrap is still running waits for it up to kWaitForPrevious (as Vault,
    /// one version a call), then is refused (Errc::conflict) rather than hold a worker.
    Result<RotationReport> rotate(const std::string& keyring, const CallContext& who);

    /// Asks running re-wraps to stop after their current batch (resumable) and refuses new
    /// rotations: keywardd calls it when draining begins.
    void stop();

    /// How long a rotate waits for the keyring's previous re-wrap before refusing.
    static constexpr std::chrono::seconds kWaitForPrevious{5};

    /// Rotations started and not yet finished.
    std::size_t running() const { return running_.load(); }

  private:
    struct Job {
        std::string keyring;
        std::thread thread;
        std::atomic<bool> done{false};
    };
    void check_loop(std::chrono::milliseconds every);
    void rotate_due();
    void reap_locked();

    Keyward& kw_;
    std::atomic<bool> stop_{false};
    std::atomic<std::size_t> running_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    std::list<std::unique_ptr<Job>> jobs_;
    std::thread checker_;
};

}  // namespace keyward::service
