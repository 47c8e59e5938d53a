// SPDX-License-Identifier: Apache-2.0
// Issue 9, keys: the database makes claims, the token decides. Each case plants a fault behind
// keyward's back, as a database writer (direct SQLite edits) or someone who can open a session
// on the token without the PIN (public objects) could, then runs the real binary on a real
// SoftHSM token and checks exactly what it refuses, says and leaves behind.
#include <catch2/catch.hpp>
#include <string>

#include "cli_setup.hpp"
#include "crypto/envelope_codec.hpp"
#include "setup_token.hpp"
#include "support/sqlite_file.hpp"
#include "support/test_env.hpp"

using namespace keyward;
using namespace keyward::test;
namespace fs = std::filesystem;

namespace {

void expect_refusal(const CliResult& r, int exit, const std::vector<std::string>& says) {
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    CHECK(r.exit_code == exit);
    CHECK(r.one_line_error());
    for (const auto& s : says) CHECK_THAT(r.err, Catch::Contains(s));
}

void ok(const CliResult& r) {
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
}

Bytes known_value() {
    return Bytes(32, 0x41);  // the attacker's key: 'A' * 32
}

std::uint32_t header_version(const Bytes& envelope) {
    auto env = crypto::parse_envelope(envelope);
    REQUIRE(env.ok());
    return env->header.kek_version;
}

Bytes stored_envelope(const SqliteFile& db, const std::string& ns, const std::string& name,
                      int version = 1) {
    return db.blob("SELECT envelope FROM record_versions WHERE namespace = '" + ns +
                   "' AND name = '" + name + "' AND version = " + std::to_string(version));
}

// A kek_versions row for `label` as a database writer would plant it.
void plant_row(const SqliteFile& db, const std::string& ring, int version, const std::string& label,
               const Bytes& id, const Bytes& check) {
    db.exec(
        "INSERT INTO kek_versions(keyring, version, state, label, object_id, check_value, "
        "wrap_count, created_at) VALUES (?1, ?2, 'active', ?3, ?4, ?5, 0, "
        "'2026-12-01T00:00:00Z')",
        {ring, std::int64_t{version}, label, id, check});
}

}  // namespace

TEST_CASE("a public key planted with a KEK's label and a database row is never used") {
    auto s = CliSetup::fresh("cli-planted-public");
    ok(s.kw.run({"keyring", "create", "a"}));
    ok(s.kw.run({"put", "a/x", "--kind", "api_key"}, "old value"));
    const Bytes id = {0xba, 0xd1};
    {
        SetupToken attacker(s.dir, false);  // no PIN
        attacker.create_aes_key("keyward:a:v2", known_value(), id, false);
        CHECK(attacker.count("keyward:a:v2") == 1);
    }
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'a'");
        plant_row(db, "a", 2, "keyward:a:v2", id, kwp_check_value(known_value()));
        db.exec(
            "INSERT INTO rotation_jobs(keyring, kind, from_version, to_version, state, "
            "started_at, started_by) VALUES ('a', 'rotate', 1, 2, 'running', "
            "'2026-12-01T00:00:00Z', 'mallory')");
    }
    const std::vector<std::string> named = {"keyward:a:v2", "missing from the token",
                                            "public object"};
    expect_refusal(s.kw.run({"put", "a/y", "--kind", "api_key"}, "new secret"), 6, named);
    expect_refusal(s.kw.run({"keyring", "rotate", "a"}), 6, named);
    expect_refusal(s.kw.run({"get", "a/x"}), 6, named);

    auto validate = s.kw.run({"validate"});
    expect_refusal(validate, 6, named);
    CHECK_THAT(validate.out, Catch::Contains("finding: KEK keyward:a:v2"));

    auto health = s.kw.run({"--json", "health"});
    INFO(health.out);
    CHECK(health.exit_code == 6);
    CHECK_THAT(health.out, Catch::Contains(R"("keyring":"a","version":2,"code":"token_mismatch",)"
                                           R"("refused":true)"));
    CHECK_THAT(health.out, Catch::Contains(R"("healthy":false)"));

    // Nothing was sealed or re-wrapped under the attacker's key.
    SqliteFile db(s.dir / "keyward.db");
    CHECK(db.integer("SELECT count(*) FROM record_versions") == 1);
    CHECK(header_version(stored_envelope(db, "a", "x")) == 1);
    CHECK(db.integer("SELECT done FROM rotation_jobs") == 0);
}

TEST_CASE("a private key imported with a known value is refused, naming the attribute") {
    // What someone with the PIN (or a token that ignored CKA_PRIVATE in searches) could plant:
    // the adapter reads the attributes before the first use and refuses a key the token did not
    // generate.
    auto s = CliSetup::fresh("cli-planted-private");
    ok(s.kw.run({"keyring", "create", "b"}));
    ok(s.kw.run({"put", "b/x", "--kind", "api_key"}, "old value"));
    const Bytes id = {0xba, 0xd2};
    {
        SetupToken admin(s.dir, true);
        admin.create_aes_key("keyward:b:v2", known_value(), id, true);
    }
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'b'");
        plant_row(db, "b", 2, "keyward:b:v2", id, kwp_check_value(known_value()));
    }
    // SoftHSM marks an imported key CKA_ALWAYS_SENSITIVE = FALSE, CKA_NEVER_EXTRACTABLE = FALSE
    // and CKA_LOCAL = FALSE; the first in keyward's order is named.
    const std::vector<std::string> named = {
        "KEK \"keyward:b:v2\"", "is not a KEK keyward generated for suite 1",
        "CKA_NEVER_EXTRACTABLE is FALSE, the spec requires TRUE"};
    expect_refusal(s.kw.run({"put", "b/y", "--kind", "api_key"}, "new secret"), 6, named);
    expect_refusal(s.kw.run({"keyring", "list"}), 6, named);
    expect_refusal(s.kw.run({"validate"}), 6, named);
    expect_refusal(s.kw.run({"health"}), 6, named);
    SqliteFile db(s.dir / "keyward.db");
    CHECK(db.integer("SELECT count(*) FROM record_versions") == 1);
}

TEST_CASE("public objects carrying keyward labels do not stop keyward") {
    auto s = CliSetup::fresh("cli-public-labels");
    ok(s.kw.run({"keyring", "create", "live"}));
    ok(s.kw.run({"put", "live/x", "--kind", "api_key"}, "live value"));
    {
        SetupToken attacker(s.dir, false);
        attacker.create_aes_key("keyward:live:v1", known_value(), Bytes{1}, false);
        attacker.create_aes_key("keyward:later:v1", known_value(), Bytes{2}, false);
        attacker.create_aes_key("keyward:auto:v1", known_value(), Bytes{3}, false);
    }
    // The label of a live KEK: every command still works.
    auto got = s.kw.run({"get", "live/x"});
    ok(got);
    CHECK(got.out == "live value");
    ok(s.kw.run({"put", "live/y", "--kind", "api_key"}, "second"));
    ok(s.kw.run({"health"}));
    ok(s.kw.run({"validate"}));
    // The label of a keyring not created yet: creating it works, by hand or on first put.
    ok(s.kw.run({"keyring", "create", "later"}));
    ok(s.kw.run({"put", "later/x", "--kind", "api_key"}, "later value"));
    ok(s.kw.run({"put", "auto/x", "--kind", "api_key"}, "auto value"));
    auto later = s.kw.run({"get", "auto/x"});
    ok(later);
    CHECK(later.out == "auto value");
    // And what was sealed is under keyward's own KEKs: a second, independent check.
    SetupToken attacker(s.dir, false);
    CHECK(attacker.count("keyward:auto:v1") == 1);  // only the public one is visible to it
}

TEST_CASE("rows whose label, CKA_ID and check value were swapped are refused at start-up") {
    auto s = CliSetup::fresh("cli-swapped-rows");
    ok(s.kw.run({"keyring", "create", "sw"}));
    ok(s.kw.run({"keyring", "rotate", "sw"}));
    ok(s.kw.run({"keyring", "rotate", "sw"}));  // v3 active
    {
        SqliteFile db(s.dir / "keyward.db");
        // v2 takes v3's object and v3 takes v2's: seals would say v3 but use v2's key.
        db.exec("UPDATE kek_versions SET version = 99 WHERE keyring = 'sw' AND version = 2");
        db.exec("UPDATE kek_versions SET version = 2 WHERE keyring = 'sw' AND version = 3");
        db.exec("UPDATE kek_versions SET version = 3 WHERE keyring = 'sw' AND version = 99");
        db.exec(
            "UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'sw' AND "
            "version = 2");
        db.exec("UPDATE kek_versions SET state = 'active' WHERE keyring = 'sw' AND version = 3");
    }
    const std::vector<std::string> named = {"keyring \"sw\" version 2",
                                            "names the object "
                                            "keyward:sw:v3"};
    expect_refusal(s.kw.run({"put", "sw/x", "--kind", "api_key"}, "v"), 6, named);
    expect_refusal(s.kw.run({"keyring", "list"}), 6, named);
    SqliteFile db(s.dir / "keyward.db");
    CHECK(db.integer("SELECT count(*) FROM record_versions") == 0);
}

TEST_CASE("a restore does not revive a compromised KEK version") {
    auto s = CliSetup::fresh("cli-restore-compromised");
    ok(s.kw.run({"put", "c/x", "--kind", "api_key"}, "before"));
    const auto backup = s.dir / "b1";
    ok(s.kw.run({"backup", "--out", backup.string()}));
    ok(s.kw.run({"keyring", "compromise", "c", "--version", "1"}));
    ok(s.kw.run({"keyring", "rotate", "c", "--reencrypt"}));

    auto restored = s.kw.run({"restore", backup.string(), "--yes"});
    ok(restored);
    CHECK_THAT(restored.out,
               Catch::Contains("re-applied from the token: keyring c version 1 is compromised"));
    {
        SqliteFile db(s.dir / "keyward.db");
        CHECK(db.text("SELECT state FROM kek_versions WHERE keyring = 'c'") == "compromised\n");
    }
    expect_refusal(s.kw.run({"put", "c/y", "--kind", "api_key"}, "after"), 1,
                   {"keyring \"c\" has no active version: version 1 is compromised",
                    "keyring rotate c --reencrypt"});
    // Opening still works (a compromised version decrypts), and the way out is a rotation,
    // which adopts the v2 the token kept from after the backup.
    auto got = s.kw.run({"get", "c/x"});
    ok(got);
    CHECK(got.out == "before");
    ok(s.kw.run({"keyring", "rotate", "c", "--reencrypt"}));
    ok(s.kw.run({"put", "c/y", "--kind", "api_key"}, "after"));
    SqliteFile db(s.dir / "keyward.db");
    CHECK(header_version(stored_envelope(db, "c", "y")) == 2);
}

TEST_CASE("an edit that revives a compromised version is overruled, reported and repairable") {
    auto s = CliSetup::fresh("cli-edit-compromised");
    ok(s.kw.run({"put", "e/x", "--kind", "api_key"}, "value"));
    ok(s.kw.run({"keyring", "compromise", "e", "--version", "1"}));
    ok(s.kw.run({"keyring", "rotate", "e", "--reencrypt"}));
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec(
            "UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'e' AND "
            "version = 2");
        db.exec("UPDATE kek_versions SET state = 'active' WHERE keyring = 'e' AND version = 1");
    }
    // New seals never use it, whatever the database says.
    expect_refusal(s.kw.run({"put", "e/y", "--kind", "api_key"}, "v"), 1,
                   {"keyring \"e\" has no active version"});
    auto show = s.kw.run({"--json", "keyring", "show", "e"});
    ok(show);
    CHECK_THAT(show.out, Catch::Contains(R"("version":1,"state":"compromised")"));

    const std::string says =
        "keyring e version 1: the database says active but the token "
        "recorded it compromised";
    auto health = s.kw.run({"health"});
    CHECK(health.exit_code == 1);
    CHECK_THAT(health.out, Catch::Contains(says));
    auto validate = s.kw.run({"validate"});
    CHECK(validate.exit_code == 1);
    CHECK_THAT(validate.out, Catch::Contains("finding: " + says));
    CHECK_THAT(validate.err, Catch::Contains("every record version opened, but " + says));

    // The remedy health names writes the token's word back.
    ok(s.kw.run({"keyring", "compromise", "e", "--version", "1"}));
    ok(s.kw.run({"health"}));
    SqliteFile db(s.dir / "keyward.db");
    CHECK(db.text("SELECT state FROM kek_versions WHERE keyring = 'e' ORDER BY version") ==
          "compromised\ndecrypt-only\n");
}

TEST_CASE("a destroyed version edited back to life stays destroyed") {
    auto s = CliSetup::fresh("cli-edit-destroyed");
    ok(s.kw.run({"put", "d/x", "--kind", "api_key"}, "value"));
    ok(s.kw.run({"keyring", "rotate", "d"}));
    ok(s.kw.run({"keyring", "retire", "d", "--version", "1"}));
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec(
            "UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'd' AND "
            "version = 1");
    }
    // Not "missing from the token": the token says it was destroyed, and it is not looked for.
    ok(s.kw.run({"get", "d/x"}));
    auto health = s.kw.run({"health"});
    CHECK(health.exit_code == 1);
    CHECK_THAT(health.out, Catch::Contains("keyring d version 1: the database says decrypt-only "
                                           "but the token recorded it destroyed"));
    auto show = s.kw.run({"--json", "keyring", "show", "d"});
    CHECK_THAT(show.out, Catch::Contains(R"("version":1,"state":"destroyed")"));
}

TEST_CASE("on upgrade, states the database already held are copied into the token") {
    auto s = CliSetup::fresh("cli-ledger-upgrade");
    ok(s.kw.run({"put", "u/x", "--kind", "api_key"}, "value"));
    ok(s.kw.run({"keyring", "rotate", "u"}));
    {
        // A database from before the token ledger: the compromise is only in its rows.
        SqliteFile db(s.dir / "keyward.db");
        db.exec(
            "UPDATE kek_versions SET state = 'compromised' WHERE keyring = 'u' AND "
            "version = 1");
        db.exec("DELETE FROM meta WHERE key = 'kek_state_ledger'");
    }
    ok(s.kw.run({"keyring", "list"}));  // the first start copies it
    {
        SetupToken admin(s.dir, true);
        CHECK(admin.count("keyward-state:keyward:u:v1:compromised") == 1);
    }
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec(
            "UPDATE kek_versions SET state = 'decrypt-only' WHERE keyring = 'u' AND "
            "version = 1");
    }
    auto show = s.kw.run({"--json", "keyring", "show", "u"});
    CHECK_THAT(show.out, Catch::Contains(R"("version":1,"state":"compromised")"));
}

TEST_CASE("rotation follows the envelope header, not an edited kek_version column") {
    auto s = CliSetup::fresh("cli-header-truth");
    ok(s.kw.run({"put", "r/x", "--kind", "api_key"}, "x value"));
    ok(s.kw.run({"put", "r/y", "--kind", "api_key"}, "y value"));
    {
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE record_versions SET kek_version = 2 WHERE name = 'x'");
    }
    auto validate = s.kw.run({"validate"});
    CHECK(validate.exit_code == 1);
    CHECK_THAT(validate.out, Catch::Contains("failed: r/x version 1: the database row says "
                                             "keyring r version 2 but its envelope names keyring "
                                             "r version 1"));
    ok(s.kw.run({"keyring", "rotate", "r"}));
    SqliteFile db(s.dir / "keyward.db");
    CHECK(header_version(stored_envelope(db, "r", "x")) == 2);
    CHECK(db.integer("SELECT kek_version FROM record_versions WHERE name = 'x'") == 2);
    ok(s.kw.run({"validate"}));
    ok(s.kw.run({"keyring", "retire", "r", "--version", "1"}));
    auto got = s.kw.run({"get", "r/x"});
    ok(got);
    CHECK(got.out == "x value");
}

TEST_CASE("retire reads every envelope's header before destroying a KEK") {
    auto s = CliSetup::fresh("cli-retire-headers");
    ok(s.kw.run({"put", "t/x", "--kind", "api_key"}, "x value"));
    Bytes under_v1;
    {
        SqliteFile db(s.dir / "keyward.db");
        under_v1 = stored_envelope(db, "t", "x");
    }
    ok(s.kw.run({"keyring", "rotate", "t"}));
    {
        // The v1 envelope back, with the columns still saying v2: counting by column, retire
        // would destroy the only key that opens it.
        SqliteFile db(s.dir / "keyward.db");
        db.exec("UPDATE record_versions SET envelope = ?1 WHERE name = 'x'", {under_v1});
        CHECK(db.integer("SELECT kek_version FROM record_versions WHERE name = 'x'") == 2);
    }
    expect_refusal(s.kw.run({"keyring", "retire", "t", "--version", "1"}), 1,
                   {"keyring t version 1 still protects 1 record versions by their envelopes "
                    "(first: t/x version 1)"});
    auto got = s.kw.run({"get", "t/x"});
    ok(got);
    CHECK(got.out == "x value");
    {
        SetupToken admin(s.dir, true);
        CHECK(admin.count("keyward:t:v1") == 1);
    }
}

TEST_CASE("an empty database file is refused like a missing one, and left empty") {
    auto s = CliSetup::fresh("cli-empty-db");
    ok(s.kw.run({"put", "z/x", "--kind", "api_key"}, "value"));
    const auto db = s.dir / "keyward.db";
    fs::resize_file(db, 0);
    fs::remove(s.dir / "keyward.db-wal");
    fs::remove(s.dir / "keyward.db-shm");
    const std::vector<std::string> named = {
        "database " + db.string(), "is an empty file, not a keyward database", "run keyward init"};
    expect_refusal(s.kw.run({"health"}), 2, named);
    expect_refusal(s.kw.run({"put", "z/y", "--kind", "api_key"}, "v"), 2, named);
    expect_refusal(s.kw.run({"keyring", "list"}), 2, named);
    CHECK(fs::file_size(db) == 0);
}
