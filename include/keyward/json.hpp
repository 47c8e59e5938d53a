// SPDX-License-Identifier: Apache-2.0
// A small JSON writer for keyward's JSON documents (the CLI's --json output, the C API's
// listings, backups): one document, keys in the order written, strings escaped per RFC 8259,
// always valid UTF-8 and free of raw control characters. Values are metadata; secrets only
// where a command's contract says so (datakey --json, open --json), which is why the buffer is
// a SecretString: every copy it leaves behind while growing is wiped. Also the one JSON shape
// of record metadata, so that every door speaks the same document (docs/CLI.md).
#pragma once

#include "keyward/export.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyward/bytes.hpp"
#include "keyward/records.hpp"

namespace keyward {

class KEYWARD_API Json {
  public:
    Json& begin_object();
    Json& end_object();
    Json& begin_array();
    Json& end_array();
    Json& key(std::string_view k);
    Json& value(std::string_view v);
    Json& value(const char* v) { return value(std::string_view(v)); }
    Json& value(std::int64_t v);
    Json& value(std::uint64_t v);
    Json& value(std::uint32_t v) { return value(static_cast<std::uint64_t>(v)); }
    Json& value(int v) { return value(static_cast<std::int64_t>(v)); }
    Json& value(bool v);
    Json& value(double v);
    Json& null();
    template <typename T>
    Json& field(std::string_view k, const T& v) {
        return key(k).value(v);
    }
    /// k: v, or k: null when v is empty (a date or name that is not set).
    Json& field_or_null(std::string_view k, std::string_view v) {
        key(k);
        return v.empty() ? null() : value(v);
    }

    std::string_view str() const { return {out_.data(), out_.size()}; }

  private:
    void separate();
    void append_string(std::string_view s);
    void append_escape(unsigned code);  // \u00XX
    SecretString out_;
    std::vector<bool> first_;  // per open container: nothing written yet
    bool after_key_ = false;
};

/// The character a JSON escape `\e` stands for (RFC 8259: `" \\ / b f n r t`); nullopt for
/// `u` (four hex digits follow) and for anything that is no escape. Shared by keyward's JSON
/// readers.
KEYWARD_API std::optional<char> json_simple_escape(char e) noexcept;

/// One record's metadata object: record, namespace, name, kind, state, latest, description,
/// tags, dates and policy (docs/CLI.md, "JSON shapes"). Never a value.
KEYWARD_API void record_json(Json& j, const RecordInfo& r);
/// One version object of `versions --json`.
KEYWARD_API void version_json(Json& j, const RecordVersion& v);

}  // namespace keyward
