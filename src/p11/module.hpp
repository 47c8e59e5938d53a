// SPDX-License-Identifier: Apache-2.0
// A loaded PKCS#11 module (dlopen + C_GetInterface or C_GetFunctionList + C_Initialize), shared
// by every connection of this process to the same module path, so one connection's teardown
// never C_Finalizes a module another connection is still using.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>

#include "keyward/error.hpp"
#include "p11/pkcs11.hpp"

namespace keyward::p11 {

struct ModuleOptions {
    /// When non-empty, SOFTHSM2_CONF is set to this before the module is initialised. SoftHSM
    /// reads it once, in C_Initialize, and it is process-global: a process can use one SoftHSM
    /// configuration at a time (setenv is also not safe against concurrent getenv).
    std::string softhsm2_conf;
    /// Never C_Finalize nor dlclose (for the OpenSSL provider: SoftHSM crashes when finalised
    /// inside OPENSSL_cleanup). Sticky: once any user asks for it, the module is never unloaded.
    bool never_finalize = false;
};

/// What the module says about itself (C_GetInfo) and how its function list was obtained: for
/// the trace, the quirks profile and reports, never for a decision about keys.
struct ModuleInfo {
    /// "C_GetInterface" (PKCS#11 3.0, interface "PKCS 11") or "C_GetFunctionList".
    std::string entry_point;
    /// The function list's version: 3.x through C_GetInterface, 2.x otherwise.
    CK_VERSION interface_version{};
    /// CK_INFO fields, blank padding trimmed; empty when C_GetInfo failed.
    std::string manufacturer;
    std::string description;
    CK_VERSION library_version{};
};

class Module {
  public:
    /// The module at `path`, loaded and initialised once per process (and again in a forked
    /// child, which PKCS#11 requires): later calls with the same path share it. Errors:
    /// Errc::hsm_unavailable when it cannot be loaded or initialised (message names the path and
    /// dlerror()), Errc::bad_config when it is already loaded with another SOFTHSM2_CONF.
    static Result<std::shared_ptr<Module>> acquire(const std::string& path,
                                                   const ModuleOptions& options = {});

    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    /// C_Finalize only if this object's C_Initialize returned CKR_OK (not when the module was
    /// already initialised by someone else in the process), then dlclose; neither in a forked
    /// child, nor when never_finalize was asked for.
    ~Module();

    CK_FUNCTION_LIST* functions() const noexcept { return functions_; }
    const std::string& path() const noexcept { return path_; }
    const ModuleInfo& info() const noexcept { return info_; }
    /// false when C_Initialize said CKR_CRYPTOKI_ALREADY_INITIALIZED.
    bool initialized_here() const noexcept { return initialized_here_; }
    /// Process that initialised it; a different getpid() means we are in a forked child.
    pid_t pid() const noexcept { return pid_; }
    const std::string& softhsm2_conf() const noexcept { return softhsm2_conf_; }
    void set_never_finalize() noexcept { never_finalize_.store(true); }

  private:
    Module() = default;
    static Result<std::shared_ptr<Module>> load(const std::string& path,
                                                const ModuleOptions& options);

    std::string path_;
    std::string softhsm2_conf_;
    void* handle_ = nullptr;
    CK_FUNCTION_LIST* functions_ = nullptr;
    ModuleInfo info_;
    bool initialized_here_ = false;
    pid_t pid_ = 0;
    std::atomic<bool> never_finalize_{false};
};

}  // namespace keyward::p11
