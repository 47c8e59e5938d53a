// SPDX-License-Identifier: Apache-2.0
// Which keyward this is: the version of the library actually loaded, which may differ from the
// headers a program was built with.
#pragma once

#include "keyward/export.hpp"

namespace keyward {

/// "MAJOR.MINOR.PATCH" of libkeyward (meson.build's project version).
KEYWARD_API const char* version() noexcept;

}  // namespace keyward
