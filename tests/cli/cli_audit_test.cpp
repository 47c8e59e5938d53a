// SPDX-License-Identifier: Apache-2.0
// Issue 11, audit: tampering behind keyward's back with SQLite (what the sqlite3 shell can do)
// on a real SoftHSM token, and what `keyward audit verify` says about each: an edited field,
// a deleted, inserted or swapped entry, a tail cut past the token's checkpoint, an older
// database file put back. An honest restore and an archive still verify.
#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "cli_setup.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

// A setup with some history: records, a keyring, a grant (administrative: checkpointed).
CliSetup with_history(const std::string& name) {
    auto s = CliSetup::fresh(name);
    expect_ok(s.kw.run({"put", "pay/stripe", "--kind", "api_key"}, "sk_live_audit_1"));
    expect_ok(s.kw.run({"get", "pay/stripe"}));
    expect_ok(s.kw.run({"keyring", "create", "hist"}));
    expect_ok(s.kw.run({"seal", "--keyring", "hist"}, "sealed-audit-value"));
    expect_ok(s.kw.run({"access", "grant", "alice", "reader", "--on", "pay"}));
    return s;
}

std::int64_t last_seq(const CliSetup& s) {
    SqliteFile db(s.dir / "keyward.db");
    return db.integer("SELECT max(seq) FROM audit_log");
}

// verify must fail with exit 3, one line naming the problem, nothing on stdout.
void expect_broken(const CliSetup& s, const std::string& says) {
    auto r = s.kw.run({"audit", "verify"});
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    CHECK(r.exit_code == 3);
    CHECK(r.one_line_error());
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("keyward: audit log does not verify: "));
    CHECK_THAT(r.err, Catch::Contains(says));
}

void expect_intact(const CliSetup& s) {
    auto r = s.kw.run({"audit", "verify"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::StartsWith("audit log intact: entries 1.."));
}

void copy_database(const fs::path& from_dir, const fs::path& to_dir) {
    fs::create_directories(to_dir);
    for (const char* f : {"keyward.db", "keyward.db-wal", "keyward.db-shm"}) {
        fs::remove(to_dir / f);
        if (fs::exists(from_dir / f)) fs::copy_file(from_dir / f, to_dir / f);
    }
}

}  // namespace

TEST_CASE("a fresh chain verifies, and its entries name principal, operation, target, outcome") {
    auto s = with_history("audit-fresh");
    expect_intact(s);
    auto list = expect_ok(s.kw.run({"audit", "list", "--operation", "record.put"}));
    CHECK_THAT(list.out, Catch::Contains(" owner record.put pay/stripe#1 ok: kind api_key\n"));
    auto json = expect_ok(s.kw.run({"audit", "list", "--target", "pay/stripe", "--json"}));
    CHECK_THAT(json.out, Catch::Contains("\"operation\":\"record.get\",\"target\":\"pay/stripe\","
                                         "\"outcome\":\"ok\""));
    // The first entry starts the chain and names who became admin.
    auto first = expect_ok(s.kw.run({"audit", "list", "--operation", "audit.init"}));
    CHECK_THAT(first.out, Catch::StartsWith("1 "));
    CHECK_THAT(first.out, Catch::Contains("owner is admin of *"));
}

TEST_CASE("every field of an entry, edited with SQLite, is caught and the entry named") {
    auto s = with_history("audit-edit");
    const fs::path db_path = s.dir / "keyward.db";
    for (const char* column :
         {"at", "principal", "actor", "operation", "target", "outcome", "error", "detail",
          "client_address", "user_agent", "request_id", "reason"}) {
        INFO(column);
        {
            SqliteFile db(db_path);
            db.exec(std::string("UPDATE audit_log SET ") + column + " = " + column +
                    " || 'x' WHERE seq = 3");
        }
        expect_broken(s, "entry 3 was altered after it was written");
        {
            SqliteFile db(db_path);
            db.exec(std::string("UPDATE audit_log SET ") + column + " = substr(" + column +
                    ", 1, length(" + column + ") - 1) WHERE seq = 3");
        }
        expect_intact(s);
    }
    // The links themselves.
    {
        SqliteFile db(db_path);
        db.exec("UPDATE audit_log SET prev_hash = zeroblob(32) WHERE seq = 3");
    }
    expect_broken(s, "entry 3 does not follow entry 2");
}

TEST_CASE("a chain head whose MAC is replaced fails in the token") {
    auto s = with_history("audit-mac");
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE audit_log SET mac = zeroblob(32) WHERE seq = 2");
    }
    expect_broken(s, "the token's MAC of entry 2 does not verify");
}

TEST_CASE("a deleted entry is named") {
    auto s = with_history("audit-delete");
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("DELETE FROM audit_log WHERE seq = 4");
    }
    expect_broken(s, "entry 4 is missing");
}

TEST_CASE("an inserted entry is named") {
    auto s = with_history("audit-insert");
    const auto n = last_seq(s);
    {
        SqliteFile db(s.dir / "keyward.db");
        // A copy of entry 2 appended as the newest: its link is entry 1's hash.
        db.exec("INSERT INTO audit_log SELECT " + std::to_string(n + 1) +
                ", at, principal, actor, operation, target, outcome, error, detail, "
                "client_address, user_agent, request_id, reason, prev_hash, hash, mac, "
                "key_version FROM audit_log WHERE seq = 2");
    }
    expect_broken(s,
                  "entry " + std::to_string(n + 1) + " does not follow entry " + std::to_string(n));
}

TEST_CASE("two swapped entries are named") {
    auto s = with_history("audit-swap");
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE audit_log SET seq = -1 WHERE seq = 3");
        db.exec("UPDATE audit_log SET seq = 3 WHERE seq = 4");
        db.exec("UPDATE audit_log SET seq = 4 WHERE seq = -1");
    }
    expect_broken(s, "entry 3 does not follow entry 2");
}

TEST_CASE("a tail cut past the token's checkpoint is caught; one after it cannot be") {
    auto s = with_history("audit-cut");
    // The grant was administrative: the token's checkpoint is at the newest entry now.
    const auto head = last_seq(s);
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("DELETE FROM audit_log WHERE seq >= " + std::to_string(head - 1));
    }
    expect_broken(s, "but the token's checkpoint");
    expect_broken(s, "vouches for " + std::to_string(head));
}

TEST_CASE("an older copy of the database put back is caught") {
    auto s = with_history("audit-older");
    const fs::path saved = s.dir / "saved";
    copy_database(s.dir, saved);
    expect_ok(s.kw.run({"access", "grant", "bob", "writer", "--on", "pay"}));  // a later checkpoint
    copy_database(saved, s.dir);
    expect_broken(s, "an older copy of the database was put back");
}

TEST_CASE("an honest restore writes a checkpoint that says so, and verifies") {
    auto s = with_history("audit-restore");
    const fs::path backup = s.dir / "backup.db";
    expect_ok(s.kw.run({"backup", "--out", backup.string()}));
    expect_ok(s.kw.run({"access", "grant", "bob", "writer", "--on", "pay"}));
    expect_ok(s.kw.run({"restore", backup.string(), "--yes"}));
    expect_intact(s);
    auto r = expect_ok(s.kw.run({"audit", "verify"}));
    CHECK_THAT(r.out, Catch::Contains(", restore)"));
    auto list = expect_ok(s.kw.run({"audit", "list", "--operation", "restore"}));
    CHECK_THAT(list.out, Catch::Contains("restore * ok: from " + backup.string()));
    CHECK_THAT(list.out, Catch::Contains("the log before the restore reached entry "));
}

TEST_CASE("archive moves old entries to a file; both verify, and an edited archive does not") {
    auto s = with_history("audit-archive");
    const fs::path out = s.dir / "audit-1.jsonl";
    const auto head = last_seq(s);
    auto r =
        expect_ok(s.kw.run({"audit", "archive", "--before", "2100-01-01", "--out", out.string()}));
    // The newest entry stays: the checkpoint and the next commit link to it.
    CHECK(r.out == "archived entries 1.." + std::to_string(head - 1) + " to " + out.string() +
                       "; check it with keyward audit verify --archive FILE\n");
    CHECK((fs::status(out).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));
    {
        SqliteFile db(s.dir / "keyward.db");
        CHECK(db.integer("SELECT min(seq) FROM audit_log") == head);
    }
    auto remaining = expect_ok(s.kw.run({"audit", "verify"}));
    CHECK_THAT(remaining.out,
               Catch::StartsWith("audit log intact: entries " + std::to_string(head) + ".."));
    auto archived = expect_ok(s.kw.run({"audit", "verify", "--archive", out.string()}));
    CHECK_THAT(archived.out,
               Catch::StartsWith("audit log intact: entries 1.." + std::to_string(head - 1) + ","));
    // An archive is refused as a target twice (never replaced).
    auto again = s.kw.run({"audit", "archive", "--before", "2100-01-01", "--out", out.string()});
    CHECK(again.exit_code == 1);
    CHECK_THAT(again.err, Catch::Contains("exists"));

    std::string text = read_file(out);
    const auto at = text.find("\"principal\":\"owner\"", text.find('\n'));
    REQUIRE(at != std::string::npos);
    text.replace(at, 19, "\"principal\":\"eve\"");
    const fs::path edited = s.dir / "edited.jsonl";
    {
        std::ofstream f(edited, std::ios::binary);
        f << text;
    }
    auto bad = s.kw.run({"audit", "verify", "--archive", edited.string()});
    CHECK(bad.exit_code == 3);
    CHECK_THAT(bad.err, Catch::Contains("was altered after it was written"));
    // Cut short: the closing anchor is missing.
    const fs::path cut = s.dir / "cut.jsonl";
    {
        std::ofstream f(cut, std::ios::binary);
        f << read_file(out).substr(0, read_file(out).rfind("{\"anchor\""));
    }
    auto short_file = s.kw.run({"audit", "verify", "--archive", cut.string()});
    CHECK(short_file.exit_code == 3);
    CHECK_THAT(short_file.err, Catch::Contains("no closing anchor"));
}

TEST_CASE("a database made before audit existed gets a chain, and its owner becomes admin") {
    auto s = CliSetup::fresh("audit-upgrade");
    expect_ok(s.kw.run({"put", "old/r", "--kind", "api_key"}, "pre-audit-value"));
    {
        // What a schema-4 database looks like: no audit tables, no chain in meta.
        SqliteFile db(s.dir / "keyward.db");
        db.exec("DROP TABLE audit_log");
        db.exec("DROP TABLE grants");
        db.exec("DROP TABLE proposals");
        db.exec("DROP TABLE service_tokens");  // schema 6
        db.exec("DELETE FROM meta WHERE key LIKE 'audit_%'");
        db.exec("PRAGMA user_version = 4");
    }
    CHECK(expect_ok(s.kw.run({"get", "old/r"})).out == "pre-audit-value");
    auto grants = expect_ok(s.kw.run({"access", "list"}));
    CHECK(grants.out == "owner admin on * (audit and access added)\n");
    expect_intact(s);
}

TEST_CASE("a wrong PIN is not audited in the database, which is not touched") {
    auto s = with_history("audit-wrong-pin");
    const auto before = last_seq(s);
    const fs::path pin = s.dir / "wrong.pin";
    {
        std::ofstream f(pin);
        f << "definitely-wrong\n";
    }
    fs::permissions(pin, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    std::string conf = read_file(s.dir / "keyward.conf");
    const auto at = conf.find("pin = ");
    REQUIRE(at != std::string::npos);
    conf.replace(at, conf.find('\n', at) - at, "pin = file:" + pin.string());
    const fs::path wrong_conf = s.dir / "wrong.conf";
    {
        std::ofstream f(wrong_conf);
        f << conf;
    }
    auto r = s.kw.run({"--config", wrong_conf.string(), "get", "pay/stripe"});
    CHECK(r.exit_code == 6);
    CHECK(r.one_line_error());
    CHECK(last_seq(s) == before);
    expect_intact(s);
}

TEST_CASE("audit key rotation: grants carried over, old entries still verify") {
    auto s = with_history("audit-rotate-key");
    auto r = expect_ok(s.kw.run({"audit", "rotate-key"}));
    CHECK(r.out == "audit key rotated; grants and proposals carry MACs of the new key\n");
    auto grants = expect_ok(s.kw.run({"access", "list"}));
    CHECK_THAT(grants.out, !Catch::Contains("INVALID"));
    CHECK_THAT(grants.out, Catch::Contains("alice reader on pay"));
    {
        SqliteFile db(s.dir / "keyward.db");
        CHECK(db.integer("SELECT count(*) FROM grants WHERE key_version = 2") == 2);
        CHECK(db.integer("SELECT max(key_version) FROM audit_log") == 2);
        CHECK(db.integer("SELECT min(key_version) FROM audit_log WHERE mac IS NOT NULL") == 1);
    }
    expect_intact(s);
    // With the two-person rule it needs a proposal.
    {
        std::ofstream conf(s.dir / "keyward.conf", std::ios::app);
        conf << "two_person_rule = on\n";
    }
    auto direct = s.kw.run({"audit", "rotate-key"});
    CHECK(direct.exit_code == 5);
    CHECK_THAT(direct.err, Catch::Contains("audit-rotate-key of audit needs two admins"));
}

TEST_CASE("nothing is appended onto entries the token does not vouch for, nor onto an older log") {
    SECTION("an entry appended with SQLite stops every later call until it is dealt with") {
        auto s = with_history("audit-forged-tail");
        const auto n = last_seq(s);
        {
            SqliteFile db(s.dir / "keyward.db");
            db.exec(
                "INSERT INTO audit_log(seq, at, principal, operation, target, outcome, "
                "prev_hash, hash) SELECT seq + 1, at, 'eve', 'record.get', target, 'ok', "
                "hash, randomblob(32) FROM audit_log WHERE seq = " +
                std::to_string(n));
        }
        // Refused before anything runs: exit 6, as for a database that contradicts the token.
        auto get = s.kw.run({"get", "pay/stripe"});
        CHECK(get.exit_code == 6);
        CHECK(get.one_line_error());
        CHECK(get.out.empty());
        CHECK_THAT(get.err, Catch::Contains("carries no valid MAC from the token"));
        CHECK(last_seq(s) == n + 1);  // nothing appended over it
        expect_broken(s, "entry " + std::to_string(n + 1) + " was altered");
    }
    SECTION("an older database put back: the next call refuses to cover it with a checkpoint") {
        auto s = with_history("audit-older-append");
        const fs::path saved = s.dir / "saved";
        copy_database(s.dir, saved);
        expect_ok(s.kw.run({"access", "grant", "bob", "writer", "--on", "pay"}));
        copy_database(saved, s.dir);
        const auto n = last_seq(s);
        auto grant = s.kw.run({"access", "grant", "eve", "admin", "--on", "*"});
        CHECK(grant.exit_code == 6);
        CHECK(grant.one_line_error());
        CHECK_THAT(grant.err, Catch::Contains("does not reach the token's checkpoint"));
        CHECK(last_seq(s) == n);
        {
            SqliteFile db(s.dir / "keyward.db");
            CHECK(db.integer("SELECT count(*) FROM grants WHERE principal = 'eve'") == 0);
        }
        expect_broken(s, "an older copy of the database was put back");
        // health says so too, and exits 1.
        auto health = s.kw.run({"health"});
        CHECK(health.exit_code == 1);
        CHECK_THAT(health.out,
                   Catch::Contains("audit:    the log ends at entry " + std::to_string(n) +
                                   " but the token's checkpoint vouches for "));
    }
    SECTION("the chain id deleted: the log is not thrown away and started again") {
        auto s = with_history("audit-chain-id");
        {
            SqliteFile db(s.dir / "keyward.db");
            db.exec("DELETE FROM meta WHERE key = 'audit_chain_id'");
        }
        auto r = s.kw.run({"keyring", "list"});
        CHECK(r.exit_code == 6);
        CHECK_THAT(r.err, Catch::Contains("holds audit entries or grants but no audit chain id"));
        SqliteFile db(s.dir / "keyward.db");
        CHECK(db.integer("SELECT count(*) FROM audit_log") > 5);
    }
}
