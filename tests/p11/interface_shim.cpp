// SPDX-License-Identifier: Apache-2.0
// A test PKCS#11 module that offers its functions only through PKCS#11 3.0's C_GetInterface
// (no C_GetFunctionList): the interface "PKCS 11" whose function list is the one of the module
// named by $KEYWARD_SHIM_TARGET (SoftHSM, which has only C_GetFunctionList). A module loaded
// through it works only if keyward asked C_GetInterface. Its file name has no "softhsm" in it,
// which also makes it a renamed SoftHSM for the quirks profile.
#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

#include "p11/pkcs11.hpp"

using keyward::p11::Interface;

namespace {

CK_FUNCTION_LIST* target_functions() {
    static CK_FUNCTION_LIST* functions = []() -> CK_FUNCTION_LIST* {
        const char* path = std::getenv("KEYWARD_SHIM_TARGET");
        if (path == nullptr) return nullptr;
        void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);  // kept for the process's life
        if (handle == nullptr) return nullptr;
        auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(handle, "C_GetFunctionList"));
        CK_FUNCTION_LIST* list = nullptr;
        if (get == nullptr || get(&list) != CKR_OK) return nullptr;
        return list;
    }();
    return functions;
}

char g_name[] = "PKCS 11";
Interface g_interface{reinterpret_cast<CK_UTF8CHAR*>(g_name), nullptr, 0};

}  // namespace

extern "C" __attribute__((visibility("default"))) CK_RV C_GetInterface(CK_UTF8CHAR* name,
                                                                       CK_VERSION* version,
                                                                       Interface** interface,
                                                                       CK_FLAGS flags) {
    (void)version;
    (void)flags;
    if (interface == nullptr) return CKR_ARGUMENTS_BAD;
    if (name != nullptr && std::strcmp(reinterpret_cast<const char*>(name), g_name) != 0) {
        return CKR_ARGUMENTS_BAD;
    }
    CK_FUNCTION_LIST* functions = target_functions();
    if (functions == nullptr) return CKR_GENERAL_ERROR;
    g_interface.pFunctionList = functions;
    *interface = &g_interface;
    return CKR_OK;
}
