// SPDX-License-Identifier: Apache-2.0
// core::Store over one SQLite connection. Calls are serialised by a mutex: SQLite connections
// are not for concurrent use, and the HSM, not the database, is the hot path.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/store.hpp"
#include "store/sqlite.hpp"

namespace keyward::store {

class SqliteStore final : public core::Store {
  public:
    /// Opens the database and migrates it to the latest schema.
    static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& path,
                                                     Database::Mode mode,
                                                     const Database::Options& options = {});

    Result<std::optional<core::TokenBinding>> token_binding() override;
    Status bind_token(const core::TokenBinding& binding) override;
    Result<std::optional<std::string>> meta_value(const std::string& key) override;
    Status set_meta_value(const std::string& key, const std::string& value) override;
    Result<std::optional<core::KeyringRow>> find_keyring(const std::string& name) override;
    Result<std::vector<core::KeyringRow>> list_keyrings() override;
    Status create_keyring(const core::KeyringRow& keyring) override;
    Status create_keyring_locked(
        const core::KeyringRow& keyring,
        const std::function<Result<core::KekVersionRow>()>& make_first) override;
    Result<std::optional<core::KekVersionRow>> find_version(const std::string& keyring,
                                                            std::uint32_t version) override;
    Result<std::optional<core::KekVersionRow>> active_version(const std::string& keyring) override;
    Result<std::uint64_t> reserve_wraps(const std::string& keyring, std::uint32_t version,
                                        std::uint64_t n, std::uint64_t limit) override;
    Result<std::uint64_t> records_under(const std::string& keyring, std::uint32_t version) override;

    Result<std::string> namespace_keyring(const std::string& ns,
                                          const std::string& keyring_if_new) override;
    Result<std::optional<std::string>> find_namespace(const std::string& ns) override;
    Status map_namespace(const std::string& ns, const std::string& keyring) override;
    Result<std::vector<core::NamespaceRow>> list_namespaces() override;
    Status put_record(const core::RecordPut& put) override;
    Result<std::vector<Status>> put_records(std::span<const core::RecordPut> puts) override;
    Result<std::optional<core::RecordRow>> find_record(const std::string& ns,
                                                       const std::string& name) override;
    Result<std::optional<core::RecordVersionRow>> record_version(
        const std::string& ns, const std::string& name,
        std::optional<std::uint32_t> version) override;
    Result<std::vector<core::RecordVersionRow>> record_versions(const std::string& ns,
                                                                const std::string& name) override;
    Result<std::vector<core::RecordRow>> list_records(const std::string& ns,
                                                      const std::string& kind,
                                                      bool include_hidden) override;
    Status change_record(const std::string& ns, const std::string& name, RecordState expected_state,
                         const core::RecordChange& change, const std::string& actor) override;
    Status set_record_state(const std::string& ns, const std::string& name, RecordState from,
                            RecordState to, const std::string& actor) override;
    Status purge_record(const std::string& ns, const std::string& name,
                        const std::string& actor) override;
    Result<core::DatabaseHealth> check_database() override;
    Result<std::vector<core::RecordVersionRow>> record_versions_page(
        const std::string& keyring, const std::optional<core::RecordVersionKey>& after,
        std::size_t limit, std::size_t max_bytes) override;
    Result<std::vector<core::RecordVersionKey>> sample_record_versions(const std::string& keyring,
                                                                       std::size_t n) override;

    Status backup_to(const std::filesystem::path& out,
                     const core::BackupManifest& manifest) override;
    Result<core::SnapshotContents> inspect_snapshot(const std::filesystem::path& path) override;
    Status restore_from(const std::filesystem::path& snapshot) override;

    Result<std::optional<core::Lease>> take_lease(const std::string& keyring, const core::Lease& me,
                                                  bool (*is_dead)(const core::Lease&,
                                                                  const std::string& now)) override;
    Status release_lease(const std::string& keyring, const core::Lease& me) override;
    Result<std::optional<core::RotationJob>> running_job(const std::string& keyring) override;
    Result<std::optional<core::RotationJob>> last_rotation(const std::string& keyring) override;
    Result<std::vector<core::RotationJob>> jobs(const std::string& keyring) override;
    Result<core::RotationJob> begin_rotation(const std::string& keyring, RotationKind kind,
                                             std::uint32_t from_version,
                                             const core::KekVersionRow& next,
                                             const std::string& actor) override;
    Result<core::RotationJob> begin_rollback(const core::RotationJob& rotation,
                                             const std::string& actor) override;
    Result<std::vector<core::RewrapCandidate>> next_batch(const core::RotationJob& job,
                                                          std::size_t limit,
                                                          Selection selection) override;
    Result<std::uint64_t> count_remaining(const core::RotationJob& job) override;
    Result<core::RotationJob> commit_batch(const core::RotationJob& job,
                                           const std::vector<core::RewrapUpdate>& updates,
                                           const core::BatchTally& tally,
                                           const core::Lease& lease) override;
    Status finish_job(const core::RotationJob& job, double seconds,
                      const core::Lease& lease) override;
    Status resume_job(const core::RotationJob& job) override;
    Result<std::uint64_t> kept_under(const std::string& keyring, std::uint32_t version) override;
    Status mark_compromised(const std::string& keyring, std::uint32_t version) override;
    Status retire_version(const std::string& keyring, std::uint32_t version) override;
    Status delete_keyring(const std::string& keyring,
                          const std::function<Status(const std::vector<core::KekVersionRow>&)>&
                              before_rows_go) override;
    Status with_write_lock(const std::function<Status()>& fn) override;
    Status apply_token_state(const std::string& keyring, std::uint32_t version,
                             KekState state) override;

    // Audit and access (sqlite_audit.cpp).
    Result<std::pair<std::string, bool>> setup_audit(
        const std::function<Result<core::AuditSetup>()>& make) override;
    Status append_audit(
        const std::function<Result<std::vector<core::AuditRow>>(const core::AuditHead&)>& build)
        override;
    Result<core::AuditHead> audit_head() override;
    Result<std::vector<core::AuditRow>> audit_rows(std::uint64_t from_seq,
                                                   std::size_t limit) override;
    Result<std::vector<core::AuditRow>> query_audit(const AuditQuery& query) override;
    Result<std::optional<core::AuditAnchor>> audit_anchor() override;
    Status archive_audit(const core::AuditAnchor& anchor) override;
    Status put_grant(const core::GrantRow& row) override;
    Result<std::size_t> delete_grants(const std::string& principal, Role role,
                                      const std::string& scope) override;
    Result<std::vector<core::GrantRow>> grants(const std::string& principal) override;
    Status insert_service_token(const core::ServiceTokenRow& row) override;
    Result<std::optional<core::ServiceTokenRow>> service_token_by_lookup(
        ByteView lookup, std::uint32_t version) override;
    Result<std::optional<core::ServiceTokenRow>> service_token(const std::string& id) override;
    Result<std::vector<core::ServiceTokenRow>> service_tokens() override;
    Result<std::vector<std::uint32_t>> service_token_lookup_versions() override;
    Status update_service_token(const core::ServiceTokenRow& row, ByteView old_mac) override;
    Status remac_access_rows(const std::vector<core::GrantRow>& grants,
                             const std::vector<core::ProposalRow>& proposals,
                             const std::vector<core::ServiceTokenRow>& tokens,
                             std::uint32_t key_version) override;
    Status insert_proposal(const core::ProposalRow& row) override;
    Result<std::optional<core::ProposalRow>> find_proposal(const std::string& id) override;
    Result<std::vector<core::ProposalRow>> proposals() override;
    Status update_proposal(const core::ProposalRow& row, const std::string& from_state) override;

    /// For tests and maintenance commands that need raw SQL (never for data paths).
    Database& database() { return db_; }

  private:
    SqliteStore(Database db, std::filesystem::path path)
        : db_(std::move(db)), path_(std::move(path)) {}

    /// A cached prepared statement, reset (bindings cleared) when the lease ends. Hot reads
    /// (every seal and open) would otherwise re-parse their SQL each time. Caller holds mutex_.
    class CachedStatement {
      public:
        explicit CachedStatement(Statement* s) : s_(s) {}
        CachedStatement(CachedStatement&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
        CachedStatement& operator=(CachedStatement&&) = delete;
        ~CachedStatement() {
            if (s_) s_->reset();
        }
        Statement* operator->() const noexcept { return s_; }
        Statement& operator*() const noexcept { return *s_; }

      private:
        Statement* s_;
    };
    Result<CachedStatement> cached(const std::string& sql);

    // Record writes, for callers that hold mutex_ and a write transaction.
    Status insert_version(const core::RecordPut& put);
    Status write_tags(const std::string& ns, const std::string& name, const std::vector<Tag>& set,
                      const std::vector<std::string>& remove);
    Status read_tags(std::vector<core::RecordRow>& rows, const std::string& ns);
    // Rotation helpers, for callers that hold mutex_ (and a transaction where they write).
    Status insert_version_row(const core::KekVersionRow& version);
    Result<core::RotationJob> insert_job(const std::string& keyring, RotationKind kind,
                                         std::uint32_t from, std::uint32_t to,
                                         const std::string& actor);
    static std::string job_filter(const core::RotationJob& job);
    Status set_job_total(core::RotationJob& job);
    Result<std::uint64_t> count_remaining_locked(const core::RotationJob& job);

    Result<std::vector<core::KekVersionRow>> versions_of(const std::string& keyring);
    // Audit helpers, for callers that hold mutex_.
    Status insert_audit_row(const core::AuditRow& row);
    Status insert_grant_row(const core::GrantRow& row);
    Result<std::optional<core::AuditAnchor>> anchor_locked();
    Result<core::AuditHead> head_locked();
    Result<std::optional<core::KekVersionRow>> one_version(std::string_view sql,
                                                           const std::string& keyring,
                                                           std::optional<std::uint32_t> version);

    std::mutex mutex_;
    Database db_;
    std::filesystem::path path_;
    std::unordered_map<std::string, std::unique_ptr<Statement>> statements_;
};

}  // namespace keyward::store
