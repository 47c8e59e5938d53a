// SPDX-License-Identifier: Apache-2.0
// Versioned wallets and credentials over the envelope service and the record store: puts,
// generated secrets, restores and bulk puts. Lifecycle changes are in records_lifecycle.cpp,
// queries in records_queries.cpp.
#include "core/records.hpp"

#include <map>
#include <set>

#include "core/busy_budget.hpp"
#include "core/clock.hpp"
#include "core/record_kinds.hpp"
#include "core/record_rules.hpp"
#include "crypto/certificate.hpp"
#include "crypto/envelope_codec.hpp"

namespace keyward::core {

namespace {

constexpr int kPutAttempts = 16;

}  // namespace

/// A put's options, checked and normalised once, before any token work.
struct Records::Prepared {
    std::string kind;
    std::optional<std::string> expires_at;
    std::optional<std::string> description;
    std::vector<Tag> tags;
    std::optional<RotationPolicy> policy;
    std::string origin = "put";
    std::optional<std::string> value_since;
    std::optional<std::uint32_t> generate_bytes;
};

Result<std::string> Records::keyring_for(const std::string& ns) {
    // The namespace's keyring, if mapped; else the default, of the same name, made on first
    // use. It must exist before the namespace row that refers to it.
    KW_TRY(auto mapped, store_.find_namespace(ns));
    if (mapped) return std::move(*mapped);
    KW_TRY(auto ring, store_.find_keyring(ns));
    if (!ring) {
        auto made = keyrings_.create(ns, Suite::kwp);
        // Another process may have made it meanwhile: that is the same outcome.
        if (!made.ok() && made.error().code() != Errc::already_exists) return made.error();
    }
    return store_.namespace_keyring(ns, ns);
}

Result<Records::Prepared> Records::prepare(const RecordAddress& address, const PutOptions& options,
                                           ByteView value) {
    if (!is_record_kind(options.kind)) {
        return Error(Errc::usage,
                     "unknown kind \"" + options.kind + "\"; kinds are " + record_kinds_text());
    }
    if (value.size() > kMaxPlaintext) {
        return Error(Errc::input_too_large, "value is " + std::to_string(value.size()) +
                                                " bytes; records hold at most 64 MiB");
    }
    Prepared p;
    p.kind = options.kind;
    if (options.tags.size() > kMaxTags) {
        return Error(Errc::usage, "at most 32 tags per record");
    }
    for (const auto& tag : options.tags) KW_TRY_STATUS(check_tag(tag));
    p.tags = options.tags;
    if (options.description) KW_TRY_STATUS(check_description(*options.description));
    p.description = options.description;
    if (options.policy) {
        KW_TRY_STATUS(check_policy(*options.policy));
        if (options.policy->auto_rotate && !kind_allows_generation(options.kind)) {
            return Error(Errc::usage, "auto-rotate needs a kind keyward generates (" +
                                          generated_kinds_text() + "), not " + options.kind);
        }
    }
    p.policy = options.policy;
    if (!options.expires_at.empty()) {
        KW_TRY(auto normalized, normalize_iso8601(options.expires_at));
        p.expires_at = std::move(normalized);
    } else if (options.kind == "client_certificate") {
        auto not_after = crypto::certificate_not_after(value);
        if (!not_after.ok()) return not_after.error().context("record " + address.text());
        p.expires_at = std::move(*not_after);
    }
    return p;
}

Result<RecordPut> Records::seal_put(const RecordAddress& address, const Prepared& prepared,
                                    ByteView value, std::uint32_t version,
                                    const std::string& actor) {
    RecordPut put;
    put.ns = address.ns;
    put.name = address.name;
    put.kind = prepared.kind;
    KW_TRY(put.keyring, keyring_for(address.ns));
    put.created_by = actor;
    put.expires_at = prepared.expires_at;
    put.version = version;
    put.origin = prepared.origin;
    put.value_since = prepared.value_since;
    put.description = prepared.description;
    put.tags = prepared.tags;
    put.policy = prepared.policy;
    put.generate_bytes = prepared.generate_bytes;
    const std::string context = record_context(address, version);
    KW_TRY(put.envelope, envelopes_.seal(put.keyring, value, as_bytes(context)));
    KW_TRY(auto parsed, crypto::parse_envelope(put.envelope));
    put.kek_version = parsed.header.kek_version;
    return put;
}

Result<std::uint32_t> Records::store_with_retry(const RecordAddress& address,
                                                const Prepared& prepared, ByteView value,
                                                const std::string& actor) {
    // One wait for other processes' locks for the whole put, re-seals included: a process
    // that keeps the write lock makes this put fail once (Errc::database_locked), not once
    // per attempt.
    BusyBudget budget;
    BusyBudget::Scope in_budget(budget);
    for (int attempt = 0; attempt < kPutAttempts; ++attempt) {
        KW_TRY(auto found, store_.find_record(address.ns, address.name));
        Prepared p = prepared;
        std::uint32_t version = 1;
        if (found) version = found->latest + 1;
        if (found && found->state != RecordState::purged) {
            std::set<std::string> keys;
            for (const auto& tag : found->tags) keys.insert(tag.first);
            for (const auto& tag : p.tags) keys.insert(tag.first);
            if (keys.size() > kMaxTags) {
                return Error(Errc::usage, "record " + address.text() + " would have " +
                                              std::to_string(keys.size()) +
                                              " tags; at most 32 (keyward update --untag K)");
            }
        }
        // A new record, or a purged one starting again, gets its kind's default policy.
        if ((!found || found->state == RecordState::purged) && !p.policy) {
            p.policy = default_rotation_policy(p.kind);
        }
        // Refuse before sealing what the store would refuse anyway: no token work is wasted
        // and the message is the store's own.
        KW_TRY(auto put, seal_put(address, p, value, version, actor));
        auto stored = store_.put_record(put);
        if (stored.ok()) return version;
        // Only a lost version race (or a rotation past the seal) is sealed again: the store
        // says Errc::conflict for exactly those, and database_locked for a lock not granted.
        if (stored.error().code() != Errc::conflict) return stored.error();
    }
    return Error(Errc::conflict, "record " + address.text() +
                                     " is being written by other writers too fast to take a "
                                     "version; retry");
}

Result<std::uint32_t> Records::put(const RecordAddress& address, const PutOptions& options,
                                   ByteView value, const std::string& actor) {
    KW_TRY(auto prepared, prepare(address, options, value));
    return store_with_retry(address, prepared, value, actor);
}

Result<std::uint32_t> Records::put_generated(const RecordAddress& address,
                                             const PutOptions& options, std::size_t bytes,
                                             const std::string& actor) {
    if (!kind_allows_generation(options.kind)) {
        return Error(Errc::usage, "keyward does not generate values of kind " + options.kind +
                                      "; it generates " + generated_kinds_text());
    }
    if (bytes < kMinGeneratedBytes || bytes > kMaxGeneratedBytes) {
        return Error(Errc::usage,
                     "generate between 16 and 4096 bytes, not " + std::to_string(bytes));
    }
    SecretBytes value(bytes);
    KW_TRY_STATUS(hsm_.generate_random(value));
    KW_TRY(auto prepared, prepare(address, options, value));
    prepared.origin = "generate";
    prepared.generate_bytes = static_cast<std::uint32_t>(bytes);
    return store_with_retry(address, prepared, value, actor);
}

Result<std::uint32_t> Records::rotate_secret(const RecordAddress& address,
                                             std::optional<std::size_t> bytes,
                                             const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (!is_live(row)) {
        return Error(Errc::state_refused, "record " + address.text() + " is " +
                                              std::string(record_state_name(row.state)) +
                                              "; only an active or expired record is rotated");
    }
    if (!kind_allows_generation(row.kind)) {
        return Error(Errc::state_refused, "record " + address.text() + " is of kind " + row.kind +
                                              ", which its issuer rotates, not keyward; "
                                              "keyward rotates " +
                                              generated_kinds_text());
    }
    const std::size_t n = bytes.value_or(row.generate_bytes.value_or(kDefaultGeneratedBytes));
    if (n < kMinGeneratedBytes || n > kMaxGeneratedBytes) {
        return Error(Errc::usage, "generate between 16 and 4096 bytes, not " + std::to_string(n));
    }
    SecretBytes value(n);
    KW_TRY_STATUS(hsm_.generate_random(value));
    Prepared p;
    p.kind = row.kind;
    p.origin = "rotate-secret";
    p.generate_bytes = static_cast<std::uint32_t>(n);
    return store_with_retry(address, p, value, actor);
}

Result<std::vector<DueRotation>> Records::rotate_due(const std::string& ns, const std::string& now,
                                                     const std::string& actor) {
    KW_TRY(auto rows, store_.list_records(ns, "", false));
    std::vector<DueRotation> done;
    for (const auto& row : rows) {
        if (!row.policy.auto_rotate || !rotation_due(row, now)) continue;
        RecordAddress a{row.ns, row.name};
        auto version = rotate_secret(a, std::nullopt, actor);
        if (version.ok()) {
            done.push_back({a.text(), *version, std::nullopt});
        } else {
            done.push_back({a.text(), 0, version.error()});
        }
    }
    return done;
}

Result<std::uint32_t> Records::restore(const RecordAddress& address, std::uint32_t version,
                                       const std::string& actor) {
    KW_TRY(auto row, existing(address));
    if (!is_live(row)) {
        return Error(Errc::state_refused, "record " + address.text() + " is " +
                                              std::string(record_state_name(row.state)) +
                                              "; only an active or expired record is restored");
    }
    KW_TRY(auto source, this->version(address, version));
    KW_TRY(auto value,
           envelopes_.open(source.envelope, as_bytes(record_context(address, source.version))));
    Prepared p;
    p.kind = row.kind;
    p.origin = "restore:" + std::to_string(version);
    p.value_since = source.value_since;
    p.expires_at = source.expires_at;
    return store_with_retry(address, p, value, actor);
}

Result<std::vector<ImportOutcome>> Records::put_batch(const std::string& ns,
                                                      std::span<const ImportItem> items,
                                                      const std::string& actor) {
    KW_TRY_STATUS(check_namespace(ns));
    BusyBudget budget;  // one for the whole import, its re-sealed items included
    BusyBudget::Scope in_budget(budget);
    std::vector<ImportOutcome> outcomes(items.size());
    std::vector<RecordPut> puts;
    std::vector<std::size_t> put_items;  // index into items for each put
    std::vector<Prepared> prepared_of(items.size());
    std::map<std::string, std::uint32_t> next;  // names seen in this batch: their next version
    auto refuse = [&](std::size_t i, const Error& e) {
        outcomes[i].error = e.message();
        outcomes[i].exit_code = e.exit_code();
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
        const auto& item = items[i];
        outcomes[i].line = item.line;
        outcomes[i].name = item.name;
        auto address = parse_record_address(ns + "/" + item.name);
        if (!address.ok()) {
            refuse(i, address.error());
            continue;
        }
        auto prepared = prepare(*address, item.options, item.value);
        if (!prepared.ok()) {
            refuse(i, prepared.error());
            continue;
        }
        prepared->origin = "import";
        auto it = next.find(item.name);
        std::uint32_t version = 1;
        bool fresh = false;
        if (it != next.end()) {
            version = it->second;
        } else {
            auto found = store_.find_record(ns, item.name);
            if (!found.ok()) return found.error();
            if (*found) version = (*found)->latest + 1;
            fresh = !*found || (*found)->state == RecordState::purged;
        }
        if (fresh && !prepared->policy) prepared->policy = default_rotation_policy(prepared->kind);
        auto put = seal_put(*address, *prepared, item.value, version, actor);
        if (!put.ok()) {
            refuse(i, put.error());
            continue;
        }
        next[item.name] = version + 1;
        prepared_of[i] = std::move(*prepared);
        puts.push_back(std::move(*put));
        put_items.push_back(i);
    }
    KW_TRY(auto stored, store_.put_records(puts));
    for (std::size_t k = 0; k < stored.size(); ++k) {
        const std::size_t i = put_items[k];
        if (stored[k].ok()) {
            outcomes[i].version = puts[k].version;
            continue;
        }
        if (stored[k].error().code() != Errc::conflict) {
            refuse(i, stored[k].error());
            continue;
        }
        // Another writer took the version meanwhile: this one goes alone, re-sealed.
        auto version = store_with_retry(RecordAddress{ns, items[i].name}, prepared_of[i],
                                        items[i].value, actor);
        if (version.ok()) {
            outcomes[i].version = *version;
        } else {
            refuse(i, version.error());
        }
    }
    return outcomes;
}

Result<RecordRow> Records::existing(const RecordAddress& address) {
    KW_TRY(auto row, store_.find_record(address.ns, address.name));
    if (!row) {
        return Error(Errc::not_found,
                     "no record " + address.text() + " (see keyward list " + address.ns + ")");
    }
    return std::move(*row);
}

Result<RecordVersionRow> Records::version(const RecordAddress& address,
                                          std::optional<std::uint32_t> version) {
    KW_TRY(auto record, existing(address));
    if (record.state == RecordState::revoked) {
        return Error(Errc::state_refused, "record " + address.text() +
                                              " is revoked; its values are withheld (keyward "
                                              "show " +
                                              address.text() + " has its metadata)");
    }
    if (record.state == RecordState::deleted) {
        return Error(Errc::not_found, "record " + address.text() + " is deleted; keyward recover " +
                                          address.text() + " brings it back");
    }
    if (record.state == RecordState::purged) {
        return Error(Errc::not_found,
                     "record " + address.text() + " was purged; its values are gone");
    }
    KW_TRY(auto row, store_.record_version(address.ns, address.name, version));
    if (row) return std::move(*row);
    return Error(Errc::not_found, "record " + address.text() + " has no version " +
                                      std::to_string(version.value_or(0)) + " (the latest is " +
                                      std::to_string(record.latest) + "; keyward versions " +
                                      address.text() + " lists them)");
}

Result<SecretBytes> Records::get(const RecordAddress& address,
                                 std::optional<std::uint32_t> version) {
    KW_TRY(auto row, this->version(address, version));
    return envelopes_.open(row.envelope, as_bytes(record_context(address, row.version)));
}

}  // namespace keyward::core
