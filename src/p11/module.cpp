// SPDX-License-Identifier: Apache-2.0
// Loading, initialising and sharing PKCS#11 modules (dlopen RTLD_NOW|RTLD_LOCAL, the function
// list from C_GetInterface where the module has it, else C_GetFunctionList, C_Initialize with
// CKF_OS_LOCKING_OK so several threads may call in at once).
#include "p11/module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>

#include "p11/call_trace.hpp"
#include "p11/rv.hpp"
#include "p11/token_finder.hpp"

namespace keyward::p11 {

namespace {

struct Entry {
    std::weak_ptr<Module> module;
    pid_t pid = 0;
};

// Deliberately leaked: no non-trivial global object may run a destructor at exit (the OpenSSL
// provider shares this code, and SoftHSM must not be torn down inside OPENSSL_cleanup).
struct Registry {
    std::mutex mutex;
    std::map<std::string, Entry> entries;
};

Registry& registry() {
    static auto* r = new Registry;
    return *r;
}

// The "PKCS 11" interface of a PKCS#11 3.0 module: its default version (the newest it offers),
// whose function list starts with the 2.40 one. nullptr when the module has no C_GetInterface
// or declines, and then C_GetFunctionList is asked.
CK_FUNCTION_LIST* function_list_from_interface(void* handle) {
    void* sym = ::dlsym(handle, "C_GetInterface");
    if (sym == nullptr) return nullptr;
    auto get_interface = reinterpret_cast<GetInterfaceFn>(sym);
    Interface* interface = nullptr;
    auto* name = reinterpret_cast<CK_UTF8CHAR*>(const_cast<char*>(kPkcs11InterfaceName));
    auto c = call("C_GetInterface", get_interface, name, nullptr, &interface, CK_FLAGS{0});
    if (!c.ok() || interface == nullptr || interface->pFunctionList == nullptr) return nullptr;
    return static_cast<CK_FUNCTION_LIST*>(interface->pFunctionList);
}

std::string version_text(const CK_VERSION& v) {
    return std::to_string(v.major) + "." + std::to_string(v.minor);
}

// C_GetInfo, for the trace and the quirks profile; a module that will not answer it still
// works, with the fields left empty.
void read_info(CK_FUNCTION_LIST* functions, ModuleInfo& info) {
    CK_INFO ck{};
    if (!KW_P11_CALL(functions, C_GetInfo, &ck).ok()) return;
    info.manufacturer = trim_field(ck.manufacturerID, sizeof ck.manufacturerID);
    info.description = trim_field(ck.libraryDescription, sizeof ck.libraryDescription);
    info.library_version = ck.libraryVersion;
}

}  // namespace

Result<std::shared_ptr<Module>> Module::acquire(const std::string& path,
                                                const ModuleOptions& options) {
    auto& reg = registry();
    std::lock_guard lock(reg.mutex);
    auto it = reg.entries.find(path);
    if (it != reg.entries.end() && it->second.pid == getpid()) {
        if (auto existing = it->second.module.lock()) {
            if (!options.softhsm2_conf.empty() &&
                options.softhsm2_conf != existing->softhsm2_conf_) {
                return Error(Errc::bad_config,
                             "PKCS#11 module \"" + path +
                                 "\" is already initialised in this "
                                 "process with SOFTHSM2_CONF=\"" +
                                 existing->softhsm2_conf_ +
                                 "\"; SoftHSM reads its configuration once per process, so use one "
                                 "configuration (several tokens may share its token directory)");
            }
            if (options.never_finalize) existing->set_never_finalize();
            return existing;
        }
    }
    // Not loaded, released, or loaded by the parent before fork(): load (again). In a child
    // C_Initialize is required by PKCS#11; a module that kept its state across fork answers
    // CKR_CRYPTOKI_ALREADY_INITIALIZED, which load() accepts.
    KW_TRY(auto module, load(path, options));
    reg.entries[path] = Entry{module, module->pid_};
    return module;
}

Result<std::shared_ptr<Module>> Module::load(const std::string& path,
                                             const ModuleOptions& options) {
    enable_call_trace_from_env();  // before the first C_* call of the process
    if (path.empty()) {
        return Error(Errc::hsm_unavailable,
                     "no PKCS#11 module path given; set the module path in the configuration");
    }
    if (!options.softhsm2_conf.empty()) {
        // SoftHSM reads SOFTHSM2_CONF in C_Initialize and never again.
        if (::setenv("SOFTHSM2_CONF", options.softhsm2_conf.c_str(), 1) != 0) {
            return Error(Errc::bad_config, "cannot set SOFTHSM2_CONF");
        }
    }

    std::shared_ptr<Module> m(new Module);
    m->path_ = path;
    m->softhsm2_conf_ = options.softhsm2_conf;
    m->pid_ = getpid();
    m->never_finalize_.store(options.never_finalize);

    ::dlerror();
    m->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (m->handle_ == nullptr) {
        const char* why = ::dlerror();
        return Error(Errc::hsm_unavailable, "cannot load PKCS#11 module \"" + path + "\": " +
                                                (why != nullptr ? why : "unknown dlopen error") +
                                                "; check the module path");
    }
    CK_FUNCTION_LIST* functions = function_list_from_interface(m->handle_);
    if (functions != nullptr) {
        m->info_.entry_point = "C_GetInterface";
    } else {
        void* sym = ::dlsym(m->handle_, "C_GetFunctionList");
        if (sym == nullptr) {
            return Error(Errc::hsm_unavailable,
                         "\"" + path +
                             "\" is not a PKCS#11 module (no C_GetFunctionList); check the "
                             "module path");
        }
        auto get_function_list = reinterpret_cast<CK_C_GetFunctionList>(sym);
        if (auto c = call("C_GetFunctionList", get_function_list, &functions); !c.ok()) {
            return c.error(Errc::hsm_unavailable).context("PKCS#11 module \"" + path + "\"");
        }
        if (functions == nullptr) {
            return Error(Errc::hsm_unavailable,
                         "PKCS#11 module \"" + path + "\" returned no function list");
        }
        m->info_.entry_point = "C_GetFunctionList";
    }
    m->functions_ = functions;
    m->info_.interface_version = functions->version;

    CK_C_INITIALIZE_ARGS args{};
    args.flags = CKF_OS_LOCKING_OK;
    auto c = KW_P11_CALL(functions, C_Initialize, &args);
    if (c.rv() == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        // Someone else in this process (another library, pkcs11-provider, SoftHSM kept across
        // fork) initialised it: use it, and leave C_Finalize to them.
        m->initialized_here_ = false;
    } else if (!c.ok()) {
        return c.error(Errc::hsm_unavailable)
            .context("cannot initialise PKCS#11 module \"" + path +
                     "\" (for SoftHSM, check SOFTHSM2_CONF and its token directory)");
    } else {
        m->initialized_here_ = true;
    }
    read_info(functions, m->info_);
    if (call_trace_enabled()) {
        trace_note("module " + path + ": " + m->info_.entry_point + ", PKCS#11 " +
                   version_text(m->info_.interface_version) + "; library \"" +
                   m->info_.manufacturer + "\" \"" + m->info_.description + "\" " +
                   version_text(m->info_.library_version));
    }
    return m;
}

Module::~Module() {
    if (pid_ != getpid() || never_finalize_.load()) return;  // forked child, or provider
    if (initialized_here_ && functions_ != nullptr) {
        (void)KW_P11_CALL(functions_, C_Finalize, nullptr);
    }
    if (handle_ != nullptr) ::dlclose(handle_);
}

}  // namespace keyward::p11
