// SPDX-License-Identifier: Apache-2.0
// Symbol visibility: libkeyward.so is built with hidden visibility, and exports only what is
// marked KEYWARD_API in these headers.
#pragma once

#if defined(KEYWARD_BUILDING_LIBRARY)
#define KEYWARD_API __attribute__((visibility("default")))
#else
#define KEYWARD_API
#endif
