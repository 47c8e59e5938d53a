// SPDX-License-Identifier: Apache-2.0
// The Project Wycheproof vector files (tests/vectors/wycheproof), read with nlohmann::json: the
// host ciphers (tests/crypto) and the token (tests/p11) run the same files. The vectors are
// public test data, so a general JSON library reads them; a missing or malformed file throws,
// which fails the test rather than running no vectors.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "support/test_env.hpp"

namespace keyward::test {

/// vectors_dir()/wycheproof/<file>, parsed (strict RFC 8259: no comments, no trailing commas).
inline nlohmann::json load_vectors(const char* file) {
    return nlohmann::json::parse(read_file(vectors_dir() / "wycheproof" / file));
}

/// "tcId N (comment)": which vector an INFO or a failure speaks of.
inline std::string describe(const nlohmann::json& t) {
    return "tcId " + std::to_string(t.at("tcId").get<std::int64_t>()) + " (" +
           t.at("comment").get<std::string>() + ")";
}

}  // namespace keyward::test
