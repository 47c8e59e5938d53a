// SPDX-License-Identifier: Apache-2.0
// A strict reader for the flat JSON lines keyward writes (see flat_json.hpp).
#include "core/flat_json.hpp"

#include "keyward/json.hpp"

namespace keyward::core {

namespace {

class Reader {
  public:
    explicit Reader(std::string_view t) : t_(t) {}

    void ws() {
        while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t')) ++i_;
    }
    bool eat(char c) {
        ws();
        if (i_ < t_.size() && t_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    bool peek(char c) {
        ws();
        return i_ < t_.size() && t_[i_] == c;
    }
    bool done() {
        ws();
        return i_ == t_.size();
    }

    std::optional<std::string> string() {
        if (!eat('"')) return std::nullopt;
        std::string out;
        while (i_ < t_.size()) {
            char c = t_[i_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
            if (c != '\\') {
                out.push_back(c);
                continue;
            }
            if (i_ >= t_.size()) return std::nullopt;
            char e = t_[i_++];
            if (auto simple = json_simple_escape(e)) {
                out.push_back(*simple);
                continue;
            }
            switch (e) {
                case 'u': {
                    if (i_ + 4 > t_.size()) return std::nullopt;
                    unsigned v = 0;
                    for (int k = 0; k < 4; ++k) {
                        char h = t_[i_++];
                        v <<= 4;
                        if (h >= '0' && h <= '9')
                            v |= static_cast<unsigned>(h - '0');
                        else if (h >= 'a' && h <= 'f')
                            v |= static_cast<unsigned>(h - 'a' + 10);
                        else if (h >= 'A' && h <= 'F')
                            v |= static_cast<unsigned>(h - 'A' + 10);
                        else
                            return std::nullopt;
                    }
                    // keyward escapes only control characters this way; no surrogates.
                    if (v >= 0x80) return std::nullopt;
                    out.push_back(static_cast<char>(v));
                    break;
                }
                default:
                    return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> scalar() {
        ws();
        if (peek('"')) return string();
        if (t_.substr(i_, 4) == "null") {
            i_ += 4;
            return std::string();
        }
        if (t_.substr(i_, 4) == "true") {
            i_ += 4;
            return std::string("true");
        }
        if (t_.substr(i_, 5) == "false") {
            i_ += 5;
            return std::string("false");
        }
        std::size_t start = i_;
        while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
        if (i_ == start || i_ - start > 20) return std::nullopt;
        return std::string(t_.substr(start, i_ - start));
    }

    // { "k": scalar, ... } with nested objects only when allow_nested.
    bool object(FlatJson* top, std::map<std::string, std::string>* flat) {
        if (!eat('{')) return false;
        if (eat('}')) return true;
        do {
            auto key = string();
            if (!key || !eat(':')) return false;
            if (top != nullptr && peek('{')) {
                std::map<std::string, std::string> inner;
                if (!object(nullptr, &inner)) return false;
                if (top->values.count(*key) || !top->objects.emplace(*key, inner).second) {
                    return false;
                }
                continue;
            }
            auto v = scalar();
            if (!v) return false;
            auto& target = top != nullptr ? top->values : *flat;
            if ((top != nullptr && top->objects.count(*key)) || !target.emplace(*key, *v).second) {
                return false;
            }
        } while (eat(','));
        return eat('}');
    }

  private:
    std::string_view t_;
    std::size_t i_ = 0;
};

}  // namespace

std::optional<FlatJson> parse_flat_json(std::string_view text) {
    Reader r(text);
    FlatJson out;
    if (!r.object(&out, nullptr) || !r.done()) return std::nullopt;
    return out;
}

}  // namespace keyward::core
