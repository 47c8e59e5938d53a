// SPDX-License-Identifier: Apache-2.0
// SQLite connection, statement and transaction wrappers (see sqlite.hpp for the guarantees).
#include "store/sqlite.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "store/sqlite_connection.hpp"
#include "store/sqlite_trace.hpp"

namespace keyward::store {

namespace {

// Creates the file with mode 0600 before SQLite sees it: SQLite would otherwise create it with
// 0644 under the usual umask, and it gives the -wal and -shm files the database file's mode.
Status create_private_file(const std::filesystem::path& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return {};
        return io_error("cannot create database", path.native(), errno);
    }
    ::close(fd);
    return {};
}

Status ensure_private_mode(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    if ((st.st_mode & 077) == 0) return {};
    if (st.st_uid == ::geteuid() && ::chmod(path.c_str(), 0600) == 0) return {};
    return Error(Errc::bad_config, "database " + path.string() +
                                       " is readable by other users and is not ours to fix: "
                                       "chmod 600 it");
}

// Every open connection of the process, for release_inherited_connections. Leaked on purpose
// (no destructor at exit); its mutex is held across fork() so that the child finds it free.
struct OpenConnections {
    std::mutex mutex;
    std::vector<Connection*> all;
};

OpenConnections& open_connections() {
    static auto* registry = [] {
        auto* r = new OpenConnections;
        ::pthread_atfork([] { open_connections().mutex.lock(); },
                         [] { open_connections().mutex.unlock(); },
                         [] { open_connections().mutex.unlock(); });
        return r;
    }();
    return *registry;
}

Result<std::unique_ptr<Connection>> connect(const std::filesystem::path& path, int flags,
                                            std::chrono::milliseconds busy_timeout) {
    release_inherited_connections();
    auto connection = std::make_unique<Connection>(path.string(), busy_timeout);
    connection->pid = ::getpid();
    const int rc = sqlite3_open_v2(path.c_str(), &connection->db,
                                   flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
    if (rc != SQLITE_OK) return connection_error(*connection, rc, "cannot open it");
    install_busy_handler(*connection);
    install_sql_trace(connection->db);  // KEYWARD_DEBUG=sql (sqlite_trace.hpp)
    auto& registry = open_connections();
    std::lock_guard lock(registry.mutex);
    registry.all.push_back(connection.get());
    return connection;
}

}  // namespace

void release_inherited_connections() {
    auto& registry = open_connections();
    const pid_t me = ::getpid();
    std::lock_guard lock(registry.mutex);
    for (Connection* c : registry.all) {
        if (c->pid == me || c->released || c->db == nullptr) continue;
        // Finalised here, so that the close is real (a connection with live statements would
        // only become a zombie, its files still open); their Statement objects stop using them.
        while (sqlite3_stmt* stmt = sqlite3_next_stmt(c->db, nullptr)) sqlite3_finalize(stmt);
        // No checkpoint from the child: the WAL belongs to whoever uses the database now.
        sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        sqlite3_close(c->db);
        c->db = nullptr;
        c->released = true;
    }
}

Error inherited_connection_error(const Connection& connection) {
    return Error(Errc::database_error, "the connection to database " + connection.path +
                                           " was made in process " +
                                           std::to_string(connection.pid) +
                                           " before fork(); open keyward again in this process");
}

sqlite3_stmt* Statement::live() const noexcept {
    return connection_->released ? nullptr : stmt_;
}

Connection::~Connection() {
    {
        auto& registry = open_connections();
        std::lock_guard lock(registry.mutex);
        std::erase(registry.all, this);
    }
    if (db == nullptr) return;
    // The -wal and -shm files stay (SQLITE_FCNTL_PERSIST_WAL, set at open) so that the next
    // process can read on a full disk: making the -shm file needs 32 KiB. The WAL is emptied
    // here instead: its frames hold old page images (envelopes of purged records among them)
    // that secure_delete does not reach. Not set at open, where truncating the WAL at every
    // restart would cost each busy writer a re-allocation.
    if (keep_wal_files) sqlite3_exec(db, "PRAGMA journal_size_limit=0", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db);
}

Database::Database(std::unique_ptr<Connection> connection) : connection_(std::move(connection)) {}
Database::Database(Database&& other) noexcept = default;
Database& Database::operator=(Database&& other) noexcept = default;
Database::~Database() = default;

Result<Database> Database::open(const std::filesystem::path& path, Mode mode,
                                const Options& options) {
    if (mode == Mode::create_if_missing) {
        KW_TRY_STATUS(create_private_file(path));
    } else if (!std::filesystem::exists(path)) {
        return Error(Errc::bad_config,
                     "database " + path.string() + " does not exist; run keyward init first");
    }
    KW_TRY_STATUS(ensure_private_mode(path));

    KW_TRY(auto connection, connect(path, SQLITE_OPEN_READWRITE, options.busy_timeout));
    int persist = 1;
    connection->keep_wal_files =
        sqlite3_file_control(connection->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist) ==
        SQLITE_OK;
    Database db(std::move(connection));
    // WAL lets readers run during a writer's transaction; FULL syncs the WAL at every commit,
    // so a committed batch survives power loss.
    KW_TRY_STATUS(db.exec("PRAGMA journal_mode=WAL"));
    KW_TRY_STATUS(db.exec("PRAGMA synchronous=FULL"));
    KW_TRY_STATUS(db.exec("PRAGMA foreign_keys=ON"));
    KW_TRY_STATUS(db.exec("PRAGMA secure_delete=ON"));
    return db;
}

Result<Database> Database::open_plain(const std::filesystem::path& path, bool read_only) {
    KW_TRY(auto connection, connect(path, read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE,
                                    std::chrono::milliseconds(kDefaultBusyTimeoutMs)));
    return Database(std::move(connection));
}

std::int64_t Database::changes() const noexcept {
    return sqlite3_changes64(connection_->db);
}

std::int64_t Database::last_insert_rowid() const noexcept {
    return sqlite3_last_insert_rowid(connection_->db);
}

sqlite3* Database::handle() const noexcept {
    return connection_->db;
}

Error Database::error(std::string_view what) const {
    return connection_error(*connection_, sqlite3_extended_errcode(connection_->db), what);
}

Status Database::exec(const char* sql) {
    if (connection_->released) return inherited_connection_error(*connection_);
    const int rc = sqlite3_exec(connection_->db, sql, nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return {};
    return connection_error(*connection_, rc);
}

Result<Statement> Database::prepare(std::string_view sql) {
    if (connection_->released) return inherited_connection_error(*connection_);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(connection_->db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return error("preparing a statement");
    return Statement(stmt, connection_.get());
}

Statement::~Statement() {
    // A released connection finalised its statements itself (release_inherited_connections).
    if (stmt_ != nullptr && !connection_->released) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(live(), index, value);
    return *this;
}

Statement& Statement::bind(int index, double value) {
    sqlite3_bind_double(live(), index, value);
    return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
    sqlite3_bind_text64(live(), index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement& Statement::bind(int index, ByteView value) {
    // A zero-length blob must still be a blob, not NULL: pass a valid pointer.
    static const std::uint8_t empty = 0;
    sqlite3_bind_blob64(live(), index, value.empty() ? &empty : value.data(), value.size(),
                        SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(live(), index);
    return *this;
}

Result<bool> Statement::step() {
    if (connection_->released) return inherited_connection_error(*connection_);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return connection_error(*connection_, rc);
}

Status Statement::run() {
    KW_TRY(bool row, step());
    (void)row;
    reset();
    return {};
}

void Statement::reset() noexcept {
    if (connection_->released) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int col) const noexcept {
    return sqlite3_column_int64(live(), col);
}

double Statement::column_double(int col) const noexcept {
    return sqlite3_column_double(live(), col);
}

std::string Statement::column_text(int col) const {
    const unsigned char* text = sqlite3_column_text(live(), col);
    if (!text) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<std::size_t>(sqlite3_column_bytes(live(), col)));
}

Bytes Statement::column_blob(int col) const {
    const void* blob = sqlite3_column_blob(live(), col);
    auto size = static_cast<std::size_t>(sqlite3_column_bytes(live(), col));
    if (!blob || size == 0) return {};
    const auto* p = static_cast<const std::uint8_t*>(blob);
    return Bytes(p, p + size);
}

bool Statement::column_is_null(int col) const noexcept {
    return sqlite3_column_type(live(), col) == SQLITE_NULL;
}

std::optional<std::string> Statement::column_optional_text(int col) const {
    if (column_is_null(col)) return std::nullopt;
    return column_text(col);
}

Result<Transaction> Transaction::begin(Database& db) {
    KW_TRY_STATUS(db.exec("BEGIN IMMEDIATE"));
    return Transaction(&db);
}

Transaction::~Transaction() {
    if (db_) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
    if (!db_) return Error(Errc::failed, "transaction already finished");
    auto status = db_->exec("COMMIT");
    if (status.ok()) db_ = nullptr;
    return status;
}

}  // namespace keyward::store
