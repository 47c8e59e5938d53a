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

}  // namespace keyward::p11
