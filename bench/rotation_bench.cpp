// SPDX-License-Identifier: Apache-2.0
// KEK rotation throughput on a fresh SoftHSM token and SQLite file (WAL, synchronous=FULL), with
// the limit it is built from measured in the same run: a bare loop of the token operations one
// re-wrap needs (C_UnwrapKey under KEK v1, C_WrapKey under KEK v2, C_DestroyObject) on KEKs made
// by keyward's own KEK generation (the spec's attributes), on 1 and 2 threads, sessions recycled
// every 10,000 objects as P11Hsm does. The better of the two is the limit.
//
// For each record count N: N records are made with Keyward::import_records (batches of 1000,
// not timed in the rate), the bare limit is measured again, then rotate_keyring runs with
// default options and is timed, with this process's resident memory sampled every 100 ms; then
// rollback_keyring (which puts the kept wrapped DEKs back without the token). Last, a grid of
// batch sizes and thread counts on the smallest set justifies the defaults.
//
// The bare loop and the record creation run in helper processes (this program again, on the
// same token and database): SoftHSM 2.6.1 keeps about 240 bytes of every session object it
// ever made until C_Finalize, session closed or not, so whatever they made would otherwise
// count in the RSS of the rotating process. This process only rotates, as `keyward keyring
// rotate` does.
//
// usage: rotation_bench [--dir DIR] [--full] [--bare-ops N] [--value-size BYTES]
//                       [--create-threads T] [--repeat R] [--no-grid] [--keep] [N ...]
//   N ...           record counts (default 10000 100000; --full appends 1000000)
//   --bare-ops N    re-wraps per bare-loop measurement (default 40000)
//   --repeat R      rotate and roll back R times per record count, the bare limit measured
//                   before each, and R passes over the grid (the machine's other load varies;
//                   the summary shows every ratio)
//   --no-grid       skip the batch size x threads grid
//   --keep          leave the token and database in DIR (default: removed at the end)
#include <openssl/rand.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/assemble.hpp"
#include "keyward/keyward.hpp"
#include "p11/init_token.hpp"
#include "p11/module.hpp"
#include "p11/p11_hsm.hpp"
#include "p11/session.hpp"
#include "p11/softhsm.hpp"
#include "p11/token_finder.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace keyward;
using Clock = std::chrono::steady_clock;

// P11Hsm's default (ConnectOptions::recycle_after_objects).
constexpr std::size_t kRecycleAfter = 10000;
constexpr std::size_t kImportBatch = 1000;

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "rotation_bench: %s\n", what.c_str());
    std::exit(1);
}

template <typename T>
T must(Result<T> r, const std::string& what) {
    if (!r.ok()) die(what + ": " + r.error().message());
    return std::move(r).value();
}

void must(const Status& s, const std::string& what) {
    if (!s.ok()) die(what + ": " + s.error().message());
}

// User + system CPU time of the whole process (every thread), in seconds.
double cpu_seconds() {
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string loadavg() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    in >> a >> b >> c;
    return a + " " + b + " " + c;
}

// VmRSS and VmHWM of this process, in KiB.
struct Memory {
    long rss_kib = 0, hwm_kib = 0;
};

Memory read_memory() {
    Memory m;
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) m.rss_kib = std::atol(line.c_str() + 6);
        if (line.rfind("VmHWM:", 0) == 0) m.hwm_kib = std::atol(line.c_str() + 6);
    }
    return m;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); false when the kernel refuses.
bool reset_hwm() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    out.flush();
    return static_cast<bool>(out);
}

double mib(long kib) {
    return static_cast<double>(kib) / 1024.0;
}

// Samples VmRSS from a thread every 100 ms between start and stop.
class RssSampler {
  public:
    void start() {
        hwm_reset_ = reset_hwm();
        base_ = read_memory();
        peak_rss_kib_ = base_.rss_kib;
        samples_ = 0;
        stop_ = false;
        thread_ = std::thread([this] {
            std::unique_lock lock(mutex_);
            while (!stop_) {
                lock.unlock();
                const long rss = read_memory().rss_kib;
                lock.lock();
                peak_rss_kib_ = std::max(peak_rss_kib_, rss);
                ++samples_;
                wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
            }
        });
    }
    void stop() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        wake_.notify_all();
        thread_.join();
        end_ = read_memory();
        peak_rss_kib_ = std::max(peak_rss_kib_, end_.rss_kib);
    }
    void print(const char* indent) const {
        std::printf(
            "%sRSS before %.1f MiB, peak sampled %.1f MiB (growth %+.1f MiB, %d samples), after "
            "%.1f MiB; VmHWM %s %.1f MiB\n",
            indent, mib(base_.rss_kib), mib(peak_rss_kib_), mib(peak_rss_kib_ - base_.rss_kib),
            samples_, mib(end_.rss_kib), hwm_reset_ ? "since start of rotation" : "of process",
            mib(end_.hwm_kib));
    }
    long growth_kib() const { return peak_rss_kib_ - base_.rss_kib; }
    long peak_kib() const { return peak_rss_kib_; }
    long hwm_kib() const { return end_.hwm_kib; }

  private:
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stop_ = false;
    bool hwm_reset_ = false;
    Memory base_, end_;
    long peak_rss_kib_ = 0;
    int samples_ = 0;
};

// The bare token loop: raw PKCS#11 on the same token, no keyward code in the loop.
class BareLoop {
  public:
    BareLoop(std::shared_ptr<p11::Module> module, CK_SLOT_ID slot, CK_MECHANISM_TYPE mechanism,
             const std::string& from_label, const std::string& to_label)
        : module_(std::move(module)), slot_(slot), mechanism_(mechanism) {
        auto session = must(p11::Session::open(module_, slot_, true), "bare session");
        f_ = session.functions();
        from_ = find(session, from_label);
        to_ = find(session, to_label);
        // A 32-byte DEK (keyward's size) wrapped once under the source KEK.
        std::uint8_t dek[32];
        RAND_bytes(dek, sizeof dek);
        CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
        CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
        CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof secret},
                            {CKA_KEY_TYPE, &generic, sizeof generic},
                            {CKA_TOKEN, &no, 1},
                            {CKA_PRIVATE, &no, 1},
                            {CKA_EXTRACTABLE, &yes, 1},
                            {CKA_SENSITIVE, &yes, 1},
                            {CKA_VALUE, dek, sizeof dek}};
        CK_OBJECT_HANDLE o = 0;
        CK_MECHANISM m{mechanism_, nullptr, 0};
        CK_ULONG n = sizeof wrapped_;
        if (f_->C_CreateObject(session.handle(), t, 7, &o) != CKR_OK ||
            f_->C_WrapKey(session.handle(), &m, from_, o, wrapped_, &n) != CKR_OK ||
            f_->C_DestroyObject(session.handle(), o) != CKR_OK) {
            die("cannot make the bare loop's wrapped DEK");
        }
        wrapped_len_ = n;
    }

    // Re-wraps per second over `total` operations split across `threads` threads. read_length:
    // also read the unwrapped key's CKA_VALUE_LEN, as P11Hsm::rewrap_dek does on tokens that
    // zero-pad suite 1 keys (SoftHSM 2.6.1); a diagnostic, not part of the limit.
    double run(unsigned threads, std::size_t total, bool read_length = false) {
        std::atomic<int> failures{0};
        const std::size_t per_thread = total / threads;
        const auto t0 = Clock::now();
        std::vector<std::thread> pool;
        for (unsigned t = 0; t < threads; ++t) {
            pool.emplace_back([&] {
                if (!worker(per_thread, read_length)) ++failures;
            });
        }
        for (auto& th : pool) th.join();
        const double s = seconds_since(t0);
        if (failures != 0) die("the bare token loop failed");
        return static_cast<double>(per_thread * threads) / s;
    }

  private:
    CK_OBJECT_HANDLE find(const p11::Session& s, const std::string& label) {
        CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof cls},
                            {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
        CK_OBJECT_HANDLE o = 0;
        CK_ULONG n = 0;
        f_->C_FindObjectsInit(s.handle(), t, 2);
        f_->C_FindObjects(s.handle(), &o, 1, &n);
        f_->C_FindObjectsFinal(s.handle());
        if (n != 1) die("cannot find KEK " + label);
        return o;
    }

    bool worker(std::size_t ops, bool read_length) {
        // The template of p11::unwrap_key for a re-wrap: a sensitive session object.
        CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
        CK_KEY_TYPE generic = CKK_GENERIC_SECRET;
        CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
        CK_ATTRIBUTE t[] = {{CKA_CLASS, &secret, sizeof secret},
                            {CKA_KEY_TYPE, &generic, sizeof generic},
                            {CKA_TOKEN, &no, 1},
                            {CKA_PRIVATE, &no, 1},
                            {CKA_SENSITIVE, &yes, 1},
                            {CKA_EXTRACTABLE, &yes, 1},
                            {CKA_WRAP, &no, 1},
                            {CKA_UNWRAP, &no, 1},
                            {CKA_ENCRYPT, &no, 1},
                            {CKA_DECRYPT, &no, 1},
                            {CKA_SIGN, &no, 1},
                            {CKA_VERIFY, &no, 1},
                            {CKA_DERIVE, &no, 1}};
        CK_MECHANISM m{mechanism_, nullptr, 0};
        std::uint8_t blob[sizeof wrapped_];
        std::memcpy(blob, wrapped_, sizeof blob);
        p11::Session session;
        std::size_t objects = kRecycleAfter;
        for (std::size_t i = 0; i < ops; ++i) {
            if (objects >= kRecycleAfter) {  // recycled like SessionPool does
                session.close();
                auto s = p11::Session::open(module_, slot_, true);
                if (!s.ok()) return false;
                session = std::move(s).value();
                objects = 0;
            }
            const CK_SESSION_HANDLE h = session.handle();
            CK_OBJECT_HANDLE o = 0;
            std::uint8_t out[64];
            CK_ULONG n = sizeof out;
            if (f_->C_UnwrapKey(h, &m, from_, blob, wrapped_len_, t, 13, &o) != CKR_OK) {
                return false;
            }
            ++objects;
            if (read_length) {
                CK_ULONG length = 0;
                CK_ATTRIBUTE a{CKA_VALUE_LEN, &length, sizeof length};
                // SoftHSM 2.6.1 answers 0 for an unwrapped key: only the call is measured.
                if (f_->C_GetAttributeValue(h, o, &a, 1) != CKR_OK) return false;
            }
            const bool ok = f_->C_WrapKey(h, &m, to_, o, out, &n) == CKR_OK && n == wrapped_len_;
            if (f_->C_DestroyObject(h, o) != CKR_OK || !ok) return false;
        }
        return true;
    }

    std::shared_ptr<p11::Module> module_;
    CK_SLOT_ID slot_;
    CK_MECHANISM_TYPE mechanism_;
    CK_FUNCTION_LIST* f_ = nullptr;
    CK_OBJECT_HANDLE from_ = 0, to_ = 0;
    std::uint8_t wrapped_[48] = {};
    CK_ULONG wrapped_len_ = 0;
};

constexpr const char* kTokenLabel = "rotbench";
constexpr const char* kUserPin = "bench-user-pin";

// The benchmark's directory: SoftHSM configuration and token directory, and the database.
struct Paths {
    std::filesystem::path dir;
    std::string module, conf;
    std::filesystem::path db() const { return dir / "bench.db"; }
};

std::unique_ptr<p11::P11Hsm> connect(const Paths& paths) {
    p11::ConnectOptions options;
    options.module_path = paths.module;
    options.token = kTokenLabel;
    options.pin = SecretString(kUserPin);
    options.softhsm2_conf = paths.conf;
    return must(p11::P11Hsm::connect(std::move(options)), "connect");
}

CK_MECHANISM_TYPE suite1_mechanism(const p11::P11Hsm& hsm) {
    return hsm.suite1_mechanism_name() == "CKM_AES_KEY_WRAP_KWP" ? 0x210BUL : CKM_AES_KEY_WRAP_PAD;
}

// Runs this program again with `args` (a helper process, so that what it leaves in SoftHSM's
// memory does not count in the rotating process's RSS) and returns its standard output lines.
std::vector<std::string> run_helper(const std::string& args) {
    std::fflush(stdout);
    const std::string exe = std::filesystem::read_symlink("/proc/self/exe").string();
    const std::string command = "'" + exe + "' " + args;
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) die("cannot run " + command);
    std::vector<std::string> lines;
    char buf[512];
    while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
        std::string line(buf);
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        if (line.rfind("BARE ", 0) != 0 && line.rfind("DIAG ", 0) != 0 &&
            line.rfind("CREATE ", 0) != 0) {
            std::printf("%s\n", line.c_str());  // the helper's progress
            std::fflush(stdout);
        }
        lines.push_back(line);
    }
    if (::pclose(pipe) != 0) die("helper failed: " + command);
    return lines;
}

std::vector<double> helper_values(const std::vector<std::string>& lines, const std::string& key) {
    for (const auto& line : lines) {
        if (line.rfind(key + " ", 0) != 0) continue;
        std::vector<double> out;
        const char* p = line.c_str() + key.size();
        char* end = nullptr;
        for (double v = std::strtod(p, &end); end != p; v = std::strtod(p, &end)) {
            out.push_back(v);
            p = end;
        }
        return out;
    }
    die("helper printed no " + key + " line");
}

// Re-wraps per second of the bare loop on 1 and 2 threads, and the CPU time per re-wrap
// (user + system of every thread: less sensitive than wall time to the machine's other load).
struct Limit {
    double one = 0, two = 0, cpu_us_one = 0, cpu_us_two = 0;
    double best() const { return std::max(one, two); }
};

// Helper process: the bare loop on 1 and 2 threads; with diagnostics also the bare loop with a
// CKA_VALUE_LEN read and P11Hsm::rewrap_dek on 1 and 2 threads.
int bare_helper(const Paths& paths, std::size_t ops, bool diagnostics) {
    auto hsm = connect(paths);
    p11::ModuleOptions mo;
    mo.softhsm2_conf = paths.conf;
    auto module = must(p11::Module::acquire(paths.module, mo), "module");
    auto slot = must(p11::find_token(module->functions(), kTokenLabel, paths.module), "token");
    BareLoop bare(module, slot.slot, suite1_mechanism(*hsm), "keyward:bare:v1", "keyward:bare:v2");
    double c0 = cpu_seconds();
    const double one = bare.run(1, ops);
    double c1 = cpu_seconds();
    const double two = bare.run(2, ops);
    double c2 = cpu_seconds();
    std::printf("BARE %.1f %.1f %.2f %.2f\n", one, two, (c1 - c0) * 1e6 / static_cast<double>(ops),
                (c2 - c1) * 1e6 / static_cast<double>(ops));
    if (diagnostics) {
        const double with_length = bare.run(2, ops, true);
        const core::KekRef v1{"keyward:bare:v1", Suite::kwp}, v2{"keyward:bare:v2", Suite::kwp};
        const auto wrapped = must(hsm->wrap_dek(v1, Bytes(32, 0x42), {}), "P11Hsm wrap");
        double rates[2] = {0, 0};
        for (unsigned threads : {1u, 2u}) {
            std::atomic<int> failures{0};
            const std::size_t per_thread = ops / threads;
            const auto t0 = Clock::now();
            std::vector<std::thread> pool;
            for (unsigned t = 0; t < threads; ++t) {
                pool.emplace_back([&] {
                    for (std::size_t i = 0; i < per_thread; ++i) {
                        if (!hsm->rewrap_dek(v1, wrapped, {}, v2, {}, kDekSize).ok()) ++failures;
                    }
                });
            }
            for (auto& th : pool) th.join();
            if (failures != 0) die("P11Hsm::rewrap_dek failed");
            rates[threads - 1] = static_cast<double>(per_thread * threads) / seconds_since(t0);
        }
        std::printf("DIAG %.1f %.1f %.1f\n", with_length, rates[0], rates[1]);
    }
    return 0;
}

Limit measure_limit(const Paths& paths, std::size_t ops, const std::string& when,
                    bool diagnostics = false) {
    const auto lines = run_helper("--bare-helper --dir '" + paths.dir.string() + "' --bare-ops " +
                                  std::to_string(ops) + (diagnostics ? " --diagnostics" : ""));
    const auto v = helper_values(lines, "BARE");
    if (v.size() != 4) die("bad BARE line");
    Limit l{v[0], v[1], v[2], v[3]};
    std::printf(
        "  bare token re-wrap (unwrap v1 + wrap v2 + destroy) %s: 1 thread %.0f/s, "
        "2 threads %.0f/s -> limit %.0f/s; CPU %.0f / %.0f us per re-wrap   [load %s]\n",
        when.c_str(), l.one, l.two, l.best(), l.cpu_us_one, l.cpu_us_two, loadavg().c_str());
    if (diagnostics) {
        const auto d = helper_values(lines, "DIAG");
        if (d.size() != 3) die("bad DIAG line");
        std::printf(
            "  between the bare loop and rotation: bare + C_GetAttributeValue("
            "CKA_VALUE_LEN) 2 threads %.0f/s; P11Hsm::rewrap_dek 1 thread %.0f/s, "
            "2 threads %.0f/s\n",
            d[0], d[1], d[2]);
    }
    std::fflush(stdout);
    return l;
}

std::string record_name(std::size_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "rec-%07zu", i);
    return buf;
}

// N records in keyring `ring`, spread over `threads` namespaces mapped to it (one importing
// thread each), imported in batches of kImportBatch. Returns the seconds it took.
double create_records(Keyward& kw, const std::string& ring, std::size_t n, unsigned threads,
                      std::size_t value_size) {
    must(kw.create_keyring(ring, Suite::kwp), "keyring " + ring);
    std::vector<std::string> namespaces;
    for (unsigned t = 0; t < threads; ++t) {
        namespaces.push_back(ring + "-" + std::to_string(t));
        must(kw.map_namespace(namespaces.back(), ring), "namespace " + namespaces.back());
    }
    const auto t0 = Clock::now();
    std::atomic<std::size_t> made{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            const std::size_t begin = n * t / threads, end = n * (t + 1) / threads;
            std::vector<ImportItem> items;
            for (std::size_t i = begin; i < end && !failed; i += kImportBatch) {
                items.clear();
                for (std::size_t j = i; j < std::min(end, i + kImportBatch); ++j) {
                    ImportItem item;
                    item.line = j;
                    item.name = record_name(j);
                    item.options.kind = "custom_secret";
                    item.value.resize(value_size);
                    RAND_bytes(item.value.data(), static_cast<int>(item.value.size()));
                    items.push_back(std::move(item));
                }
                auto out = kw.import_records(namespaces[t], items);
                if (!out.ok()) {
                    std::fprintf(stderr, "import: %s\n", out.error().message().c_str());
                    failed = true;
                    return;
                }
                for (const auto& o : *out) {
                    if (o.version == 0) {
                        std::fprintf(stderr, "import %s: %s\n", o.name.c_str(), o.error.c_str());
                        failed = true;
                        return;
                    }
                }
                const std::size_t total = made += items.size();
                if (n >= 100000 && total % 100000 < items.size()) {
                    std::printf("    ... %zu records made, %.0f/s\n", total,
                                static_cast<double>(total) / seconds_since(t0));
                    std::fflush(stdout);
                }
            }
        });
    }
    for (auto& th : pool) th.join();
    if (failed) die("creating the records failed");
    return seconds_since(t0);
}

// The first and last record open after a rotation or rollback.
void spot_check(Keyward& kw, const std::string& ring, std::size_t n, unsigned threads) {
    for (std::size_t i : {std::size_t{0}, n - 1}) {
        const unsigned t = static_cast<unsigned>(i * threads / n);
        const std::string address = ring + "-" + std::to_string(t) + "/" + record_name(i);
        must(kw.get_record(address), "opening " + address);
    }
}

void check_report(const RotationReport& r, std::size_t n, const char* what) {
    if (r.done != n || r.failed != 0 || r.interrupted || r.state != RotationState::finished) {
        std::string f;
        for (const auto& s : r.failures) f += "\n  " + s;
        die(std::string(what) + ": done " + std::to_string(r.done) + " of " + std::to_string(n) +
            ", failed " + std::to_string(r.failed) + ", state " +
            std::string(rotation_state_name(r.state)) + f);
    }
}

// One rotation and its rollback, with the bare limit measured just before.
struct Run {
    double rotate_s = 0, rollback_s = 0, limit = 0, max_commit_ms = 0, steady = 0;
    double cpu_us = 0, bare_cpu_us = 0;  // per record; bare: the cheaper of 1 and 2 threads
    long rss_growth_kib = 0, rss_peak_kib = 0, hwm_kib = 0;
    double rate(std::size_t n) const { return static_cast<double>(n) / rotate_s; }
    double ratio(std::size_t n) const { return rate(n) / limit; }
};

struct Row {
    std::size_t records = 0;
    double create_s = 0;
    std::vector<Run> runs;
    const Run& best() const {
        return *std::max_element(runs.begin(), runs.end(), [&](const Run& a, const Run& b) {
            return a.ratio(records) < b.ratio(records);
        });
    }
};

}  // namespace

int main(int argc, char** argv) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "keyward-rotation-bench";
    std::vector<std::size_t> counts;
    bool full = false, grid = true, keep = false;
    std::size_t bare_ops = 40000, value_size = 64;
    unsigned create_threads = 2, repeat = 1;
    bool bare_helper_mode = false, diagnostics = false, create_helper_mode = false;
    std::string create_ring;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) die(a + " needs a value");
            return argv[++i];
        };
        if (a == "--dir") {
            dir = value();
        } else if (a == "--full") {
            full = true;
        } else if (a == "--bare-helper") {
            bare_helper_mode = true;
        } else if (a == "--diagnostics") {
            diagnostics = true;
        } else if (a == "--create-helper") {
            create_helper_mode = true;
            create_ring = value();
        } else if (a == "--keep") {
            keep = true;
        } else if (a == "--no-grid") {
            grid = false;
        } else if (a == "--bare-ops") {
            bare_ops = std::stoul(value());
        } else if (a == "--value-size") {
            value_size = std::stoul(value());
        } else if (a == "--repeat") {
            repeat = std::max(1u, static_cast<unsigned>(std::stoul(value())));
        } else if (a == "--create-threads") {
            create_threads = static_cast<unsigned>(std::stoul(value()));
        } else if (!a.empty() && a[0] != '-') {
            counts.push_back(std::stoul(a));
        } else {
            die("unknown option " + a);
        }
    }
    if (counts.empty()) counts = {10000, 100000};
    if (full) counts.push_back(1000000);
    create_threads = std::max(1u, create_threads);

    auto module_path = p11::find_softhsm_module();
    if (!module_path) die("SoftHSM is not installed");
    Paths paths{dir, *module_path, (dir / "softhsm2.conf").string()};
    if (bare_helper_mode) return bare_helper(paths, bare_ops, diagnostics);
    if (create_helper_mode) {
        auto store = must(
            store::SqliteStore::open(paths.db(), store::Database::Mode::open_existing), "database");
        auto kw = must(core::assemble(connect(paths), std::move(store), Config{}), "open");
        std::printf("CREATE %.3f\n",
                    create_records(*kw, create_ring, counts.at(0), create_threads, value_size));
        return 0;
    }

    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir / "tokens");
    {
        std::ofstream out(paths.conf);
        out << "directories.tokendir = " << (dir / "tokens").string()
            << "\nobjectstore.backend = file\nlog.level = ERROR\n";
    }
    SecretString so_pin("bench-so-pin"), user_pin(kUserPin);
    must(p11::init_token(paths.module, paths.conf, kTokenLabel, so_pin, user_pin), "init token");
    auto hsm = connect(paths);
    const std::string mechanism = hsm->suite1_mechanism_name();
    // The bare loop's KEKs come from keyward's own KEK generation: the spec's attributes.
    must(hsm->generate_kek("keyward:bare:v1", Suite::kwp, Bytes{1}), "bare KEK v1");
    must(hsm->generate_kek("keyward:bare:v2", Suite::kwp, Bytes{2}), "bare KEK v2");
    p11::P11Hsm* hsm_view = hsm.get();  // owned by the Keyward handle below
    auto store = must(
        store::SqliteStore::open(paths.db(), store::Database::Mode::create_if_missing), "database");
    auto kw = must(core::assemble(std::move(hsm), std::move(store), Config{}), "open");

    std::printf(
        "keyward rotation benchmark: SoftHSM (%s), SQLite WAL synchronous=FULL, %zu-byte "
        "values, %u hardware threads, load %s\n",
        mechanism.c_str(), value_size, std::thread::hardware_concurrency(), loadavg().c_str());
    std::printf(
        "bare loop (in a helper process on the same token): %zu re-wraps per "
        "measurement, sessions recycled every %zu objects\n",
        bare_ops, kRecycleAfter);
    std::printf(
        "records are made by a helper process too (Keyward::import_records): this "
        "process only rotates, so its RSS is the rotation's\n");
    std::fflush(stdout);
    measure_limit(paths, bare_ops, "at start", true);

    std::vector<Row> rows;
    RotateOptions defaults;
    for (std::size_t n : counts) {
        Row row;
        row.records = n;
        const std::string ring = "r" + std::to_string(n);
        std::printf("\n%zu records (keyring %s, %u namespaces)\n", n, ring.c_str(), create_threads);
        std::fflush(stdout);
        row.create_s =
            helper_values(
                run_helper("--create-helper " + ring + " --dir '" + dir.string() +
                           "' --create-threads " + std::to_string(create_threads) +
                           " --value-size " + std::to_string(value_size) + " " + std::to_string(n)),
                "CREATE")
                .at(0);
        std::printf(
            "  created in %.1f s (%.0f records/s, %u threads, import batches of %zu; not "
            "counted)\n",
            row.create_s, static_cast<double>(n) / row.create_s, create_threads, kImportBatch);
        for (unsigned rep = 1; rep <= repeat; ++rep) {
            Run run;
            const std::string tag = repeat > 1 ? " (run " + std::to_string(rep) + ")" : "";
            const Limit limit = measure_limit(paths, bare_ops, "before rotation" + tag);
            run.limit = limit.best();
            run.bare_cpu_us = std::min(limit.cpu_us_one, limit.cpu_us_two);

            const auto pool_before = hsm_view->pool_stats();
            const auto reconnects_before = hsm_view->reconnects();
            // The committed batches' times: the steady rate between the first and the last
            // commit leaves out the fixed start (lease, new KEK version in the token, job row).
            std::vector<std::pair<Clock::time_point, std::uint64_t>> commits;
            commits.reserve(n / defaults.batch + 2);
            RotateOptions observed = defaults;
            observed.progress = [&commits](const RotationReport& r) {
                commits.emplace_back(Clock::now(), r.done);
            };
            RssSampler sampler;
            sampler.start();
            const double c0 = cpu_seconds();
            auto t0 = Clock::now();
            auto rotated = must(kw->rotate_keyring(ring, observed), "rotate " + ring);
            run.rotate_s = seconds_since(t0);
            run.cpu_us = (cpu_seconds() - c0) * 1e6 / static_cast<double>(n);
            sampler.stop();
            check_report(rotated, n, "rotation");
            const auto pool_after = hsm_view->pool_stats();
            run.max_commit_ms = rotated.max_commit_ms;
            run.rss_growth_kib = sampler.growth_kib();
            run.rss_peak_kib = sampler.peak_kib();
            run.hwm_kib = sampler.hwm_kib();
            std::printf(
                "  rotate%s (batch %zu, %u threads): %.2f s, %.0f records/s, ratio to "
                "bare limit %.2f; CPU %.0f us per record (bare %.0f); max_commit_ms "
                "%.1f; hsm_rewraps %llu; sessions opened %zu, recycled %zu; module "
                "reconnects %zu\n",
                tag.c_str(), defaults.batch, defaults.threads, run.rotate_s, run.rate(n),
                run.ratio(n), run.cpu_us, run.bare_cpu_us, rotated.max_commit_ms,
                static_cast<unsigned long long>(rotated.hsm_rewraps),
                pool_after.opened - pool_before.opened, pool_after.recycled - pool_before.recycled,
                hsm_view->reconnects() - reconnects_before);
            if (commits.size() >= 3) {
                const double span =
                    std::chrono::duration<double>(commits.back().first - commits.front().first)
                        .count();
                run.steady =
                    static_cast<double>(commits.back().second - commits.front().second) / span;
                std::printf(
                    "    steady rate between first and last commit %.0f records/s "
                    "(ratio %.2f); fixed cost outside the batches about %.0f ms\n",
                    run.steady, run.steady / run.limit,
                    1000.0 * (run.rotate_s - static_cast<double>(n) / run.steady));
                if (n >= 100000) {
                    // Whether the rate holds as the job goes on (SoftHSM's object table and
                    // the database grow): the rate of each tenth of the records.
                    std::printf("    records/s per tenth of the job:");
                    std::size_t from = 0;
                    for (std::size_t i = 1; i < commits.size(); ++i) {
                        if (commits[i].second * 10 / n == commits[from].second * 10 / n &&
                            i + 1 != commits.size())
                            continue;
                        const double tenth =
                            std::chrono::duration<double>(commits[i].first - commits[from].first)
                                .count();
                        std::printf(
                            " %.0f",
                            static_cast<double>(commits[i].second - commits[from].second) / tenth);
                        from = i;
                    }
                    std::printf("\n");
                }
            }
            sampler.print("    ");
            spot_check(*kw, ring, n, create_threads);

            t0 = Clock::now();
            auto rolled = must(kw->rollback_keyring(ring, defaults), "rollback " + ring);
            run.rollback_s = seconds_since(t0);
            check_report(rolled, n, "rollback");
            std::printf(
                "  rollback%s (kept copies): %.2f s, %.0f records/s; hsm_rewraps %llu; "
                "max_commit_ms %.1f\n",
                tag.c_str(), run.rollback_s, static_cast<double>(n) / run.rollback_s,
                static_cast<unsigned long long>(rolled.hsm_rewraps), rolled.max_commit_ms);
            spot_check(*kw, ring, n, create_threads);
            std::fflush(stdout);
            row.runs.push_back(run);
        }
        rows.push_back(row);
    }

    if (grid) {
        // Every cell once per pass (--repeat passes, in reverse order every other pass so that
        // a drift of the machine's load does not favour one end); each cell keeps its best
        // rate, its largest max_commit_ms and its lowest CPU time.
        const std::size_t n = counts.front();
        const std::string ring = "r" + std::to_string(n);
        std::printf("\nbatch size x threads, %zu records, rotate only, %u pass%s\n", n, repeat,
                    repeat == 1 ? "" : "es");
        struct Cell {
            std::size_t batch;
            unsigned threads;
            double rate = 0, commit_ms = 0, cpu_us = 1e18;
        };
        std::vector<Cell> cells;
        for (std::size_t batch : {std::size_t{100}, std::size_t{500}, std::size_t{2000}}) {
            for (unsigned threads : {1u, 2u, 4u}) cells.push_back({batch, threads});
        }
        double limit = 0;
        for (unsigned pass = 1; pass <= repeat; ++pass) {
            limit = std::max(
                limit,
                measure_limit(paths, bare_ops, "before grid pass " + std::to_string(pass)).best());
            for (std::size_t k = 0; k < cells.size(); ++k) {
                auto& c = cells[pass % 2 == 1 ? k : cells.size() - 1 - k];
                RotateOptions o;
                o.batch = c.batch;
                o.threads = c.threads;
                const double c0 = cpu_seconds();
                const auto t0 = Clock::now();
                auto r = must(kw->rotate_keyring(ring, o), "rotate " + ring);
                const double rate = static_cast<double>(n) / seconds_since(t0);
                const double cpu_us = (cpu_seconds() - c0) * 1e6 / static_cast<double>(n);
                check_report(r, n, "grid rotation");
                c.rate = std::max(c.rate, rate);
                c.commit_ms = std::max(c.commit_ms, r.max_commit_ms);
                c.cpu_us = std::min(c.cpu_us, cpu_us);
                std::printf(
                    "  batch %4zu threads %u: %6.0f records/s  max_commit_ms %6.1f  CPU "
                    "%.0f us/record   [load %s]\n",
                    c.batch, c.threads, rate, r.max_commit_ms, cpu_us, loadavg().c_str());
                std::fflush(stdout);
            }
        }
        limit = std::max(limit, measure_limit(paths, bare_ops, "after grid").best());
        std::printf(
            "\n  best records/s (ratio to the best bare limit %.0f/s; largest "
            "max_commit_ms; CPU us per record)\n  | batch \\ threads | 1 | 2 | 4 "
            "|\n  |---|---|---|---|\n",
            limit);
        for (std::size_t b = 0; b < 3; ++b) {
            std::printf("  | %zu |", cells[b * 3].batch);
            for (std::size_t t = 0; t < 3; ++t) {
                const auto& c = cells[b * 3 + t];
                std::printf(" %.0f (%.2f; %.0f ms; %.0f us) |", c.rate, c.rate / limit, c.commit_ms,
                            c.cpu_us);
            }
            std::printf("\n");
        }
    }

    std::printf(
        "\nsummary (per record count: the run with the best ratio; ratios of all runs "
        "listed)\n  | records | create s | rotate s | records/s | bare limit/s | ratio | "
        "all ratios | steady records/s | CPU us/record (bare) | max_commit_ms | RSS "
        "growth MiB | peak RSS MiB | VmHWM MiB | rollback records/s |\n"
        "  |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const auto& r : rows) {
        const Run& b = r.best();
        std::string all;
        for (const auto& x : r.runs) {
            char buf[16];
            std::snprintf(buf, sizeof buf, "%s%.2f", all.empty() ? "" : " ", x.ratio(r.records));
            all += buf;
        }
        std::printf(
            "  | %zu | %.1f | %.2f | %.0f | %.0f | %.2f | %s | %.0f | %.0f (%.0f) | %.1f | "
            "%.1f | %.1f | %.1f | %.0f |\n",
            r.records, r.create_s, b.rotate_s, b.rate(r.records), b.limit, b.ratio(r.records),
            all.c_str(), b.steady, b.cpu_us, b.bare_cpu_us, b.max_commit_ms, mib(b.rss_growth_kib),
            mib(b.rss_peak_kib), mib(b.hwm_kib), static_cast<double>(r.records) / b.rollback_s);
    }
    std::printf("load at end %s\n", loadavg().c_str());
    kw.reset();
    if (!keep) std::filesystem::remove_all(dir);
    return 0;
}
