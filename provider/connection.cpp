// SPDX-License-Identifier: Apache-2.0
// The process's keyward handles, one per configuration and principal, opened on first use,
// shared by every provider instance, never closed, and opened again in a child after fork().
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "provider.hpp"

namespace keyward::provider {

namespace {

// One configuration and principal: its handle, or why the last open failed and when to try
// again (never, for a wrong or locked PIN or a bad configuration: retrying a wrong PIN on every
// operation would lock the token).
struct Connection {
    std::string config_path;
    std::string principal;
    pid_t pid = 0;  // the process that opened (or failed to open) it
    Keyward* keyward = nullptr;
    std::string open_failure;
    bool open_failure_final = false;
    std::chrono::steady_clock::time_point retry_after{};
};

// Deliberately leaked, like every handle in it: nothing here may run at exit (teardown and
// exit handlers run inside or after OPENSSL_cleanup, where the token must not be touched).
struct Connections {
    std::mutex mutex;
    std::vector<Connection> all;
};

Connections& connections() {
    static auto* c = new Connections;
    return *c;
}

// A fork() while another thread holds the table's mutex would leave it locked in the child
// forever: hold it across fork() so that both sides start with it free.
void before_fork() {
    connections().mutex.lock();
}
void after_fork() {
    connections().mutex.unlock();
}

void register_fork_handlers() {
    static std::once_flag registered;
    std::call_once(registered, [] { ::pthread_atfork(before_fork, after_fork, after_fork); });
}

Connection& find_or_add(Connections& table, const std::string& config_path,
                        const std::string& principal) {
    for (auto& c : table.all) {
        if (c.config_path == config_path && c.principal == principal) return c;
    }
    Connection& added = table.all.emplace_back();
    added.config_path = config_path;
    added.principal = principal;
    return added;
}

// Opens the handle; on failure records why and raises it.
Keyward* open_connection(const ProviderContext* ctx, Connection& c) {
    auto config = load_config(c.config_path);
    if (!config.ok()) {
        KW_RAISE(ctx, config.error());
        return nullptr;
    }
    // Strict: the handle is never closed, so nothing may wait in memory for a flush.
    config->audit_strict = true;
    OpenOptions options;
    options.keep_module_loaded = true;
    options.act_as = c.principal;
    Result<std::unique_ptr<Keyward>> opened = Error(Errc::failed, "not opened");
    {
        QuietErrors quiet(ctx);
        opened = Keyward::open(*config, options);
    }
    if (!opened.ok()) {
        const Errc code = opened.error().code();
        c.open_failure = opened.error().message();
        c.open_failure_final = code == Errc::pin_incorrect || code == Errc::pin_locked ||
                               code == Errc::bad_config || code == Errc::token_mismatch;
        c.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        KW_RAISE(ctx, kReasonCannotOpen, c.open_failure);
        return nullptr;
    }
    c.open_failure.clear();
    c.keyward = opened->release();
    return c.keyward;
}

}  // namespace

Keyward* ProviderContext::connect() const {
    if (config_path.empty()) {
        KW_RAISE(this, kReasonNotConfigured,
                 "no keyward configuration: set keyward-config in the provider's openssl.cnf "
                 "section, or KEYWARD_CONFIG");
        return nullptr;
    }
    register_fork_handlers();
    auto& table = connections();
    std::lock_guard lock(table.mutex);
    Connection& c = find_or_add(table, config_path, principal);
    const pid_t me = ::getpid();
    if (c.pid != me) {
        // First use in this process: in a child, the parent's handle (made before fork()) is
        // abandoned, not closed (closing would act on the parent's sessions and database).
        c.pid = me;
        c.keyward = nullptr;
        c.open_failure.clear();
        c.open_failure_final = false;
    }
    if (c.keyward != nullptr) return c.keyward;
    if (!c.open_failure.empty() &&
        (c.open_failure_final || std::chrono::steady_clock::now() < c.retry_after)) {
        KW_RAISE(this, kReasonCannotOpen, c.open_failure);
        return nullptr;
    }
    return open_connection(this, c);
}

}  // namespace keyward::provider
