// SPDX-License-Identifier: Apache-2.0
// What the p11_kek_test files share (kek_objects_test, kek_wrap_test, kek_connection_test).
#pragma once

#include "keyward/bytes.hpp"

namespace keyward::test {

/// The suite 2 DEK-wrap AAD of an envelope of keyring "w" under KEK version 1: magic "KWE" 1,
/// suite 2, keyring length 1, "w", version 1.
inline const Bytes kAad = {0x4B, 0x57, 0x45, 0x01, 0x02, 0x01, 'w', 0x00, 0x00, 0x00, 0x01};

}  // namespace keyward::test
