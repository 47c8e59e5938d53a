// SPDX-License-Identifier: Apache-2.0
// Errc values print by name in Catch2 failure output, in every test directory. Kept out of
// p11_test_helpers.hpp, which other test directories include beside their own printers.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "keyward/error.hpp"

namespace Catch {
template <>
struct StringMaker<keyward::Errc> {
    static std::string convert(keyward::Errc e) { return std::string(keyward::errc_name(e)); }
};
}  // namespace Catch
