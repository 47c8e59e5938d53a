// SPDX-License-Identifier: Apache-2.0
// The one include of the PKCS#11 headers (p11-kit's pkcs11.h) for keyward, plus the constants
// that header lacks. Everything in src/p11 includes this instead of <p11-kit/pkcs11.h>.
#pragma once

#include <p11-kit/pkcs11.h>

// PKCS#11 3.0 name of RFC 5649 key wrap; p11-kit 0.24's header stops at 2.40.
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP (0x210BUL)
#endif

namespace keyward::p11 {

inline constexpr CK_MECHANISM_TYPE kMechAesKeyWrapKwp = CKM_AES_KEY_WRAP_KWP;
inline constexpr CK_MECHANISM_TYPE kMechAesKeyWrapPad = CKM_AES_KEY_WRAP_PAD;

// PKCS#11 3.0's C_GetInterface, which p11-kit 0.24's header lacks. Our own names, laid out as
// the standard's CK_INTERFACE, so a later header that has them cannot clash. The function list
// of interface "PKCS 11" (CK_FUNCTION_LIST_3_0 for version 3.x) begins with exactly the
// fields of the 2.40 CK_FUNCTION_LIST, which is all keyward calls.
struct Interface {
    CK_UTF8CHAR* pInterfaceName;
    void* pFunctionList;
    CK_FLAGS flags;
};
using GetInterfaceFn = CK_RV (*)(CK_UTF8CHAR* interface_name, CK_VERSION* version,
                                 Interface** interface, CK_FLAGS flags);
inline constexpr const char* kPkcs11InterfaceName = "PKCS 11";

}  // namespace keyward::p11
