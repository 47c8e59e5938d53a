// SPDX-License-Identifier: Apache-2.0
// What keyward reads from a client certificate it stores: its expiry. Parsing is OpenSSL's.
#pragma once

#include <string>

#include "keyward/bytes.hpp"
#include "keyward/error.hpp"

namespace keyward::crypto {

/// notAfter of the X.509 certificate in `value` (PEM, the first certificate when there are
/// several; or DER) as a UTC stamp "2030-01-01T00:00:00Z". Errc::bad_input when the value
/// holds no certificate OpenSSL can read.
Result<std::string> certificate_not_after(ByteView value);

}  // namespace keyward::crypto
