// A small JSON writer for --json output: one document, keys in the order written, strings
// escaped per RFC 8259. Values are metadata; secrets only where a command's contract says so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keyward::cli {

class Json {
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
    Json& null();
    template <typename T>
    Json& field(std::string_view k, const T& v) { return key(k).value(v); }

    const std::string& str() const { return out_; }

private:
    void separate();
    std::string out_;
    std::vector<bool> first_;  // per open container: nothing written yet
    bool after_key_ = false;
};

std::string json_escape(std::string_view s);

}  // namespace keyward::cli
