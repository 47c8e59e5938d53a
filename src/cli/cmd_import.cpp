// SPDX-License-Identifier: Apache-2.0
// import NS --jsonl F: bulk put, one record per line, committed in batches. A bad line is
// refused and named in the summary; the good ones land.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "command.hpp"
#include "import_line.hpp"
#include "line_reader.hpp"
#include "terminal_text.hpp"

namespace keyward::cli {

namespace {

// A 64 MiB value in base64 with its JSON around it fits; a line longer than this is refused.
constexpr std::size_t kMaxLine = 96u << 20;
// A batch is committed when it has this many records or this many value bytes.
constexpr std::size_t kMaxBatchBytes = 64u << 20;

bool blank(const SecretBytes& line) {
    for (auto c : line) {
        if (c != ' ' && c != '\t' && c != '\r') return false;
    }
    return true;
}

class Progress {
  public:
    explicit Progress(bool on) : on_(on) {}
    void show(const LineReader& in, std::size_t stored, std::size_t refused) {
        if (!on_) return;
        std::string pct;
        if (in.total_bytes() > 0) {
            pct = std::to_string(in.bytes_read() * 100 / in.total_bytes()) + "%  ";
        }
        std::fprintf(stderr, "\rimport: %sline %zu, %zu stored, %zu refused ", pct.c_str(),
                     in.line_number(), stored, refused);
        std::fflush(stderr);
    }
    void done() {
        if (on_) std::fputs("\n", stderr);
    }

  private:
    bool on_;
};

struct Summary {
    std::vector<ImportOutcome> stored, refused;
};

Status flush(Keyward& kw, const std::string& ns, std::vector<ImportItem>& batch, Summary& sum) {
    if (batch.empty()) return {};
    auto outcomes = kw.import_records(ns, batch);
    if (!outcomes.ok()) {
        // This batch was rolled back whole; the earlier ones stay.
        for (const auto& item : batch) {
            sum.refused.push_back({item.line, item.name, 0, outcomes.error().exit_code(),
                                   "not stored: " + outcomes.error().message()});
        }
        batch.clear();
        return outcomes.error();
    }
    for (auto& o : *outcomes) (o.version != 0 ? sum.stored : sum.refused).push_back(std::move(o));
    batch.clear();
    return {};
}

void print_summary(const Invocation& inv, const std::string& ns, const Summary& sum) {
    if (inv.json) {
        Json j;
        j.begin_object()
            .field("namespace", ns)
            .field("stored", static_cast<std::uint64_t>(sum.stored.size()))
            .field("refused", static_cast<std::uint64_t>(sum.refused.size()));
        j.key("records").begin_array();
        for (const auto& o : sum.stored) {
            j.begin_object()
                .field("line", static_cast<std::uint64_t>(o.line))
                .field("name", o.name);
            j.field("version", o.version).end_object();
        }
        j.end_array().key("refusals").begin_array();
        for (const auto& o : sum.refused) {
            j.begin_object().field("line", static_cast<std::uint64_t>(o.line));
            if (!o.name.empty()) j.field("name", o.name);
            j.field("error", o.error).end_object();
        }
        j.end_array().end_object();
        inv.print_json(j);
        return;
    }
    std::ostringstream out;
    out << "imported " << sum.stored.size() << " records into " << escape_controls(ns)
        << ", refused " << sum.refused.size() << "\n";
    for (const auto& o : sum.refused) {
        out << "  line " << o.line;
        // A refused line's name, and the error that quotes it, may hold anything.
        if (!o.name.empty()) out << " (" << escape_controls(o.name.substr(0, 200)) << ")";
        out << ": " << escape_controls(o.error) << "\n";
    }
    inv.print_text(out.str());
}

// An import that cannot go on still reports what it stored before the error.
Status stopped(const Invocation& inv, const std::string& ns, const Summary& sum, Progress& progress,
               const Error& e) {
    progress.done();
    print_summary(inv, ns, sum);
    return e.context("import stopped after " + std::to_string(sum.stored.size()) +
                     " stored records");
}

Status run_import(const Invocation& inv, const Args& args) {
    auto path = args.get("--jsonl");
    if (!path)
        return Error(Errc::usage, "import needs --jsonl F (one record per line, - for stdin)");
    KW_TRY(auto batch_size, args.number("--batch", 100, 1, 10000));
    const std::string& ns = args.positional()[0];
    KW_TRY_STATUS(check_namespace(ns));
    KW_TRY(auto in, LineReader::open(*path, kMaxLine));
    KW_TRY(auto kw, inv.open_keyward());
    Progress progress(::isatty(STDERR_FILENO) == 1);
    Summary sum;
    std::vector<ImportItem> batch;
    std::size_t batch_bytes = 0;
    SecretBytes line;
    for (;;) {
        auto more = in.next(line);
        if (!more.ok()) {
            // What was committed stays; say so, then stop at the unreadable line.
            (void)flush(*kw, ns, batch, sum);
            return stopped(inv, ns, sum, progress, more.error());
        }
        if (!*more) break;
        if (blank(line)) continue;
        auto parsed = parse_import_line(
            std::string_view(reinterpret_cast<const char*>(line.data()), line.size()));
        if (!parsed.ok()) {
            sum.refused.push_back(
                {in.line_number(), {}, 0, parsed.error().exit_code(), parsed.error().message()});
            continue;
        }
        ImportItem item;
        item.line = in.line_number();
        item.name = std::move(parsed->name);
        item.options.kind = std::move(parsed->kind);
        item.options.expires_at = parsed->expires.value_or("");
        item.options.description = std::move(parsed->description);
        item.options.tags = std::move(parsed->tags);
        item.value = std::move(parsed->value);
        batch_bytes += item.value.size();
        batch.push_back(std::move(item));
        if (batch.size() >= batch_size || batch_bytes >= kMaxBatchBytes) {
            if (auto st = flush(*kw, ns, batch, sum); !st.ok()) {
                return stopped(inv, ns, sum, progress, st.error());
            }
            batch_bytes = 0;
            progress.show(in, sum.stored.size(), sum.refused.size());
        }
    }
    if (auto st = flush(*kw, ns, batch, sum); !st.ok()) {
        return stopped(inv, ns, sum, progress, st.error());
    }
    progress.show(in, sum.stored.size(), sum.refused.size());
    progress.done();
    std::sort(sum.refused.begin(), sum.refused.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    print_summary(inv, ns, sum);
    if (!sum.refused.empty()) {
        return Error(Errc::failed, std::to_string(sum.refused.size()) + " of " +
                                       std::to_string(sum.refused.size() + sum.stored.size()) +
                                       " records were refused (named in the summary); the "
                                       "others were stored");
    }
    return {};
}

}  // namespace

const Command kImportCommand = {
    "import",
    "bulk put from JSON lines",
    "usage: keyward import NS --jsonl F [--batch N]\n\n"
    "One record per line of F (- for stdin): {\"name\", \"kind\", \"value\" or \"value_b64\",\n"
    "\"expires\"?, \"description\"?, \"tags\"?: {\"K\": \"V\"}}. Each record becomes the next\n"
    "version of NS/name, as keyward put would store it. Records are committed N at a time\n"
    "(default 100, and at most 64 MiB of values per batch), with progress on stderr when it\n"
    "is a terminal. A line that is not valid is refused and named with its line number and\n"
    "reason in the summary (stdout, or --json); the good ones land. Exit 0 only when every\n"
    "line was stored.\n",
    {{"--jsonl", true}, {"--batch", true}},
    1,
    1,
    run_import};

}  // namespace keyward::cli
