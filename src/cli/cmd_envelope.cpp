// SPDX-License-Identifier: Apache-2.0
// seal, open and rewrap: envelopes of docs/FORMAT.md from the command line.
#include "command.hpp"
#include "envelope_io.hpp"
#include "io.hpp"
#include "keyward/base64.hpp"
#include "keyward/format.hpp"

namespace keyward::cli {

namespace {

// Writes an envelope or blob to --out or stdout (text form when as_text), and with --json
// describes it: {"out", "bytes"} when written to a file, else {json_key: text, "bytes"}. The
// bytes written depend on --text and the input's form only, never on --json.
Status emit(const Invocation& inv, const std::optional<std::string>& out, ByteView binary,
            bool as_text, std::string_view json_key) {
    const std::string text = text_form(binary);
    if (!inv.json || out) KW_TRY_STATUS(write_output(out, as_text ? as_bytes(text) : binary));
    if (inv.json) {
        Json j;
        j.begin_object();
        if (out) {
            j.field("out", *out);
        } else {
            j.field(json_key, std::string_view(text).substr(0, text.size() - 1));
        }
        j.field("bytes", static_cast<std::uint64_t>(binary.size())).end_object();
        inv.print_json(j);
    }
    return {};
}

Status run_seal(const Invocation& inv, const Args& args) {
    auto keyring = args.get("--keyring");
    if (!keyring) return Error(Errc::usage, "seal needs --keyring NAME (see keyward seal --help)");
    const std::string context = args.get("--context").value_or("");
    KW_TRY(auto plaintext, read_input(args.get("--in"), kMaxPlaintext));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto envelope, kw->seal(*keyring, plaintext, as_bytes(context)));
    return emit(inv, args.get("--out"), envelope, args.has("--text"), "envelope");
}

Status run_open(const Invocation& inv, const Args& args) {
    const std::string context = args.get("--context").value_or("");
    KW_TRY(auto raw, read_input(args.get("--in"), max_envelope_input()));
    KW_TRY(auto input, decode_envelope_input(raw));
    if (blob_kind(input.bytes) == BlobKind::data_key) {
        return Error(Errc::bad_magic,
                     "this is a data key blob (KWK), not an envelope (KWE): it "
                     "holds a key, not data (see keyward datakey --help)");
    }
    // Check the bytes before touching the token, so a malformed input never costs a login.
    KW_TRY(auto parsed, inspect_blob(input.bytes));
    (void)parsed;
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto plaintext, kw->open(input.bytes, as_bytes(context)));
    const auto out = args.get("--out");
    if (!inv.json || out) KW_TRY_STATUS(write_output(out, plaintext));
    if (inv.json) {
        Json j;
        j.begin_object();
        if (out) {
            j.field("out", *out);
        } else {
            // The plaintext is this document's content; its base64 copy is wiped after use.
            const SecretString b64 = base64_encode_secret(plaintext);
            j.field("plaintext_b64", std::string_view(b64.data(), b64.size()));
        }
        j.field("bytes", static_cast<std::uint64_t>(plaintext.size())).end_object();
        inv.print_json(j);
    }
    return {};
}

Status run_rewrap(const Invocation& inv, const Args& args) {
    KW_TRY(auto raw, read_input(args.get("--in"), max_envelope_input()));
    KW_TRY(auto input, decode_envelope_input(raw));
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto rewrapped, kw->rewrap(input.bytes));
    return emit(inv, args.get("--out"), rewrapped, input.was_text || args.has("--text"),
                "rewrapped");
}

}  // namespace

const Command kSealCommand = {
    "seal",
    "encrypt stdin (or a file) into an envelope",
    "usage: keyward seal --keyring NAME [--context CTX] [--in F] [--out F] [--text]\n\n"
    "Seals the input (at most 64 MiB) under the keyring's active KEK: a fresh AES-256 data\n"
    "key encrypts it with AES-256-GCM on the host, and the token wraps the data key.\n\n"
    "  --context CTX  bytes that bind the envelope to its place; opening needs the same\n"
    "  --in F         read F instead of stdin\n"
    "  --out F        write F instead of stdout: a regular file is replaced whole (mode\n"
    "                 0600), a FIFO or device is written in place\n"
    "  --text         write the kwe1: text form with one newline instead of binary\n"
    "  --json         {\"envelope\": \"kwe1:...\", \"bytes\": N}\n",
    {{"--keyring", true}, {"--context", true}, {"--in", true}, {"--out", true}, {"--text", false}},
    0,
    0,
    run_seal};

const Command kOpenCommand = {
    "open",
    "decrypt an envelope (binary or kwe1: text)",
    "usage: keyward open [--context CTX] [--in F] [--out F]\n\n"
    "Writes the plaintext of an envelope read from stdin or F, in binary or kwe1: text\n"
    "form. Nothing is written unless the envelope authenticates: a tampered, truncated or\n"
    "mismatched envelope, or a wrong --context, fails with exit 3 and no output.\n\n"
    "  --json         {\"plaintext_b64\": \"...\", \"bytes\": N} on stdout\n",
    {{"--context", true}, {"--in", true}, {"--out", true}},
    0,
    0,
    run_open};

const Command kRewrapCommand = {
    "rewrap",
    "re-wrap an envelope or data key blob under the active KEK version",
    "usage: keyward rewrap [--in F] [--out F] [--text]\n\n"
    "Re-wraps the data key of an envelope (or kwk1 blob) under its keyring's active KEK\n"
    "version. Only the header changes: nonce, ciphertext and tag stay byte for byte, and\n"
    "the data key never leaves the token (suite 1). Text input gives text output.\n",
    {{"--in", true}, {"--out", true}, {"--text", false}},
    0,
    0,
    run_rewrap};

}  // namespace keyward::cli
