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
// operation would lock the token). Its own mutex serialises the open, so that a slow token
// (or a PIN prompt) holds up only the callers of this pair, never the table.
struct Connection {
    std::string config_path;
    std::string principal;
    pid_t pid = 0;  // the process this entry belongs to
    std::mutex open_mutex;
    Keyward* keyward = nullptr;
    std::string open_failure;
    bool open_failure_final = false;
    std::chrono::steady_clock::time_point retry_after{};
};

// Deliberately leaked, like every entry and handle in it: nothing here may run at exit
// (teardown and exit handlers run inside or after OPENSSL_cleanup, where the token must not be
// touched). Entries are never freed, so a pointer to one stays valid without the table's lock.
struct Connections {
    std::mutex mutex;
    std::vector<Connection*> all;
};

Connections& connections() {
    static auto* c = new Connections;
    return *c;
}

// A fork() while another thread holds the table's mutex would leave it locked in the child
// forever: it is held across fork() so that both sides start with it free. (An entry's
// open_mutex is never held across fork(): the child replaces the parent's entries.)
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

Connection* new_entry(const std::string& config_path, const std::string& principal, pid_t pid) {
    auto* c = new Connection;
    c->config_path = config_path;
    c->principal = principal;
    c->pid = pid;
    return c;
}

// This process's entry for the pair. In a child after fork() the parent's entry is replaced,
// not reused: its handle belongs to the parent (PKCS#11 sessions, SQLite connections) and its
// open_mutex may have been held by a thread that does not exist here. A final failure (wrong
// or locked PIN, bad configuration) is carried over: N children of a pre-fork server must not
// try a wrong PIN N more times.
Connection* entry_for(const std::string& config_path, const std::string& principal) {
    auto& table = connections();
    const pid_t me = ::getpid();
    std::lock_guard lock(table.mutex);
    for (auto*& c : table.all) {
        if (c->config_path != config_path || c->principal != principal) continue;
        if (c->pid == me) return c;
        Connection* fresh = new_entry(config_path, principal, me);
        if (c->open_failure_final) {
            fresh->open_failure = c->open_failure;
            fresh->open_failure_final = true;
        }
        c = fresh;  // the parent's entry is abandoned, never freed nor locked
        return fresh;
    }
    table.all.push_back(new_entry(config_path, principal, me));
    return table.all.back();
}

// Opens the handle; on failure records why and raises it. Called with c.open_mutex held.
Keyward* open_connection(const ProviderContext* ctx, Connection& c) {
    auto config = load_config(c.config_path);
    if (!config.ok()) {
        c.open_failure = config.error().message();
        c.retry_after = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        KW_RAISE(ctx, kReasonCannotOpen, c.open_failure);
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
    Connection* c = entry_for(config_path, principal);
    std::lock_guard lock(c->open_mutex);
    if (c->keyward != nullptr) return c->keyward;
    if (!c->open_failure.empty() &&
        (c->open_failure_final || std::chrono::steady_clock::now() < c->retry_after)) {
        KW_RAISE(this, kReasonCannotOpen, c->open_failure);
        return nullptr;
    }
    return open_connection(this, *c);
}

}  // namespace keyward::provider
