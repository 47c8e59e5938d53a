// SPDX-License-Identifier: Apache-2.0
// datakey: a fresh data key for a caller's own cipher, with its kwk1 blob.
#include "command.hpp"
#include "envelope_io.hpp"
#include "io.hpp"
#include "keyward/base64.hpp"

namespace keyward::cli {

namespace {

Status run_datakey(const Invocation& inv, const Args& args) {
    auto keyring = args.get("--keyring");
    if (!keyring)
        return Error(Errc::usage, "datakey needs --keyring NAME (see keyward datakey --help)");
    KW_TRY(auto bytes, args.number("--bytes", kDekSize, kMinDataKeySize, kMaxDataKeySize));
    if (!args.has("--out-key") && !inv.json) {
        return Error(Errc::usage,
                     "datakey needs --out-key FILE for the raw key, or --json (see "
                     "keyward datakey --help)");
    }
    KW_TRY(auto kw, inv.open_keyward());
    KW_TRY(auto dk, kw->generate_data_key(*keyring, bytes));
    const std::string blob_text = text_form(dk.blob);
    if (auto out_key = args.get("--out-key")) KW_TRY_STATUS(write_output(out_key, dk.key));
    if (inv.json) {
        Json j;
        j.begin_object();
        if (!args.has("--out-key")) {
            const SecretString key_b64 = base64_encode_secret(dk.key);
            j.field("key_b64", std::string_view(key_b64.data(), key_b64.size()));
        }
        j.field("blob", blob_text.substr(0, blob_text.size() - 1))
            .field("bytes", static_cast<std::uint64_t>(dk.key.size()))
            .end_object();
        if (auto out_blob = args.get("--out-blob")) {
            KW_TRY_STATUS(write_output(out_blob, as_bytes(blob_text)));
        }
        inv.print_json(j);
        return {};
    }
    return write_output(args.get("--out-blob"), as_bytes(blob_text));
}

}  // namespace

const Command kDatakeyCommand = {
    "datakey",
    "a fresh data key and its kwk1 blob, for your own cipher",
    "usage: keyward datakey --keyring NAME [--bytes N] [--out-key F] [--out-blob F] [--json]\n\n"
    "Makes a fresh random data key (N bytes, 16-64, default 32; suite 2 keyrings: 32),\n"
    "wraps it under the keyring's active KEK, writes the raw key to F (mode 0600) and the\n"
    "kwk1: text blob to --out-blob or stdout. Keep the blob beside your data; the token\n"
    "unwraps it later. With --json and no --out-key: {\"key_b64\", \"blob\", \"bytes\"}.\n"
    "SoftHSM 2.6.1 wraps suite 1 keys correctly only in multiples of 8 bytes (16, 24 ... 64);\n"
    "keyward refuses other lengths on such a token rather than write a non-standard blob.\n",
    {{"--keyring", true}, {"--bytes", true}, {"--out-key", true}, {"--out-blob", true}},
    0,
    0,
    run_datakey};

}  // namespace keyward::cli
