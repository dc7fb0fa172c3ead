// Fuzz target: any bytes, as a .bbx file and as a rANS message, into every reader of them.
//
// Invariants checked on every input (a violation prints the invariant and aborts, which
// libFuzzer and the replay test both report as a failure):
//  * bbans::decompress, container::inspect and codec::Message::from_bytes never crash, hang or
//    trip a sanitizer, and every error they return is one non-empty line;
//  * decompress succeeds only with output whose size and XXH64 are the header's, and then
//    inspect succeeds too, and compressing the output and decompressing that gives it back;
//  * a bits-back payload or a message that parses writes back to the very same bytes, and a
//    parsed message survives popping symbols and pushing them back;
//  * container::decompress hands a bits-back decoder only payloads whose layout adds up to
//    the original size, and never trusts what the decoder returns without the checksum.
// Random mutations almost never get past the header and payload checksums, so each input is
// also tried with the payload size and both checksums rewritten to match ("repaired"), and a
// zstd payload additionally with the original size and content checksum of what zstd itself
// decodes it to, which reaches the success path with arbitrary zstd frames.
#include "tests/fuzz/decompress_fuzz.hpp"

#include <xxhash.h>
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "codec/message.hpp"
#include "src/coding/model_file.hpp"
#include "src/compressor/compressor.hpp"
#include "src/container/bbx.hpp"

#define BBANS_FUZZ_TARGET "decompress_fuzz"

namespace bbans::fuzz {
Stats& stats() {
    static Stats s;
    return s;
}
}  // namespace bbans::fuzz

namespace {

using namespace bbans;
using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

// The shipped MNIST model (BBANS_FUZZ_MODEL), so that inputs naming it reach the real
// bits-back decoder with hostile messages, counts and shapes; any other model is missing.
const coding::CodingModel* fuzz_model() {
    static const Expected<coding::CodingModel> model = coding::load_model(BBANS_FUZZ_MODEL);
    return model ? &*model : nullptr;
}

Expected<const coding::CodingModel*> resolve_model(const container::ModelId& id) {
    const coding::CodingModel* m = fuzz_model();
    if (m != nullptr && m->identity() == id) return m;
    return make_error("model " + container::to_hex(id) + " is not available");
}

// The CLI prints an error as one line "bbans: FILE: MESSAGE".
void check_error(const Error& e) { fuzz::check_error(BBANS_FUZZ_TARGET, e); }

constexpr std::size_t kHeader = container::kHeaderSize;
// Outputs of the zstd reference pass are kept small: compressing them again at level 19 is
// part of every successful input.
constexpr std::uint64_t kMaxReferenceOutput = std::uint64_t{1} << 16;

std::uint64_t get_le(ByteSpan b, std::size_t at, int n) {
    std::uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
    return v;
}

void put_le(Bytes& b, std::size_t at, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) b[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * i));
}

// The same file with its payload size, payload checksum and header checksum made to match.
Bytes with_matching_checksums(ByteSpan file) {
    Bytes f(file.begin(), file.end());
    put_le(f, 24, f.size() - kHeader, 8);
    put_le(f, 32, XXH32(f.data() + kHeader, f.size() - kHeader, 0), 4);
    put_le(f, 36, XXH32(f.data(), 36, 0), 4);
    return f;
}

bool header_fields_valid(ByteSpan file) {
    return file.size() >= kHeader && file[0] == 0x89 && file[1] == 'B' && file[2] == 'B' && file[3] == 'X' &&
           file[4] == container::kVersion && file[5] <= 2 && file[6] == 0 && file[7] == 0 &&
           get_le(file, 8, 8) <= container::kMaxOriginalSize;
}

// A parsed message must serialize to the same bytes and pop/push must be inverses on it,
// whatever its heads, tail and virtual word count. `steer` picks the symbol intervals.
void check_message(ByteSpan bytes, ByteSpan steer) {
    auto m = codec::Message::from_bytes(bytes);
    if (!m) {
        check_error(m.error());
        return;
    }
    ++fuzz::stats().messages;
    FUZZ_CHECK(m->ok());
    FUZZ_CHECK(m->lanes() >= 1 && m->lanes() <= codec::kMaxLanes);
    for (std::uint64_t h : m->heads()) FUZZ_CHECK(h >= codec::kHeadMin);
    FUZZ_CHECK(m->size_bits() == 8 * std::uint64_t{bytes.size()});
    FUZZ_CHECK(m->initial_bits() / 32 == m->virtual_words_drawn());  // no overflow
    auto back = m->to_bytes();
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(std::equal(back->begin(), back->end(), bytes.begin(), bytes.end()));

    struct Popped {
        std::size_t lane;
        std::uint32_t start, freq;
        unsigned prec;
    };
    std::vector<Popped> popped;
    codec::Message work = *m;
    const std::size_t steps = std::min<std::size_t>(64, steer.size() / 2 + 8);
    for (std::size_t i = 0; i < steps; ++i) {
        const std::uint8_t a = steer.empty() ? 0 : steer[(2 * i) % steer.size()];
        const std::uint8_t b = steer.empty() ? 0 : steer[(2 * i + 1) % steer.size()];
        const unsigned prec = 1 + a % codec::kMaxPrecision;
        const std::uint64_t range = std::uint64_t{1} << prec;
        // Equal-width symbols of width 2^(b mod (prec + 1)), the last one cut short.
        const std::uint64_t width = std::uint64_t{1} << (b % (prec + 1));
        const std::size_t lane = i % work.lanes();
        const std::uint64_t cf = work.peek(lane, prec);
        FUZZ_CHECK(cf < range);
        const std::uint64_t start = cf - cf % width;
        const std::uint64_t freq = std::min(width, range - start);
        work.pop(lane, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(freq), prec);
        FUZZ_CHECK(work.ok());
        for (std::uint64_t h : work.heads()) FUZZ_CHECK(h >= codec::kHeadMin);
        popped.push_back({lane, static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(freq), prec});
    }
    FUZZ_CHECK(work.virtual_words_drawn() >= m->virtual_words_drawn());
    for (auto it = popped.rbegin(); it != popped.rend(); ++it) work.push(it->lane, it->start, it->freq, it->prec);
    FUZZ_CHECK(work.ok());
    FUZZ_CHECK(work == *m);
}

// A bits-back payload that parses writes back to the same bytes; its message is fuzzed too.
void check_bits_back_payload(ByteSpan payload) {
    auto p = container::parse_bits_back_payload(payload);
    if (!p) {
        check_error(p.error());
        return;
    }
    FUZZ_CHECK(p->lanes >= 1 && p->rows > 0 && p->cols > 0 && p->seed_images <= p->count);
    FUZZ_CHECK(p->layout == container::Layout::idx || p->layout == container::Layout::raw);
    const Bytes again = container::write_bits_back_payload(*p);
    FUZZ_CHECK(std::equal(again.begin(), again.end(), payload.begin(), payload.end()));
    check_message(p->message, payload);
}

// container::decompress with stand-in bits-back decoders: one that checks what it is given and
// fails, one that returns bytes the checksum must reject (unless they happen to be right).
void check_decoder_contract(ByteSpan file, const container::Info& info) {
    const std::uint64_t original = info.header.original_size;
    bool called = false;
    const container::BitsBackDecoder probe = [&](const container::BitsBackPayload& p,
                                                 std::uint64_t size) -> Expected<Bytes> {
        called = true;
        FUZZ_CHECK(info.has_bits_back);
        FUZZ_CHECK(size == original);
        FUZZ_CHECK(p.model == info.bits_back.model && p.rows == info.bits_back.rows && p.cols == info.bits_back.cols &&
                   p.count == info.bits_back.count && p.lanes == info.bits_back.lanes);
        FUZZ_CHECK(p.message.size() == info.message_size);
        FUZZ_CHECK(p.lanes >= 1 && p.rows > 0 && p.cols > 0 && p.seed_images <= p.count);
        const std::uint64_t pixels = std::uint64_t{p.rows} * p.cols;
        FUZZ_CHECK(p.header_bytes.size() <= size);
        FUZZ_CHECK(p.count <= (size - p.header_bytes.size()) / pixels);
        FUZZ_CHECK(p.header_bytes.size() + p.count * pixels == size);
        return make_error("fuzz probe decoder");
    };
    auto r = container::decompress(file, probe);
    if (called) {
        FUZZ_CHECK(!r.has_value());
        FUZZ_CHECK(r.error().message == "fuzz probe decoder");
    } else if (!r) {
        check_error(r.error());
    }

    const container::BitsBackDecoder liar = [](const container::BitsBackPayload&, std::uint64_t size) -> Expected<Bytes> {
        return Bytes(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1024)), 0x5a);
    };
    auto l = container::decompress(file, liar);
    if (l) {
        FUZZ_CHECK(l->size() == original);
        FUZZ_CHECK(container::content_checksum(*l) == info.header.checksum);
    } else {
        check_error(l.error());
    }
}

// All readers on one candidate file. Returns whether bbans::decompress accepted it.
bool check_file(ByteSpan file) {
    // Version 2 archives have a fuzz target of their own (archive_fuzz.cpp).
    if (archive::peek_version(file) == 2) return false;
    auto info = container::inspect(file);
    if (!info) check_error(info.error());
    if (file.size() >= kHeader) check_bits_back_payload(file.subspan(kHeader));
    if (info) check_decoder_contract(file, *info);

    auto out = bbans::decompress(file, resolve_model);
    if (!out) {
        check_error(out.error());
        return false;
    }
    // inspect reads a subset of what decompress reads.
    FUZZ_CHECK(info.has_value());
    if (info->has_bits_back) ++fuzz::stats().bits_back_decoded;
    FUZZ_CHECK(info->file_size == file.size());
    FUZZ_CHECK(out->size() == info->header.original_size);
    FUZZ_CHECK(container::content_checksum(*out) == info->header.checksum);

    auto again = bbans::compress(*out, CompressOptions{}, std::span<const bbans::NamedModel>{});
    if (!again) fuzz::violated(BBANS_FUZZ_TARGET, again.error().message.c_str(), __FILE__, __LINE__);
    FUZZ_CHECK(again->summary.input_bytes == out->size());
    FUZZ_CHECK(again->file.size() <= archive::stored_archive_size(out->size(), std::string("data").size()));
    auto back = bbans::decompress(again->file, resolve_model);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *out);
    return true;
}

// A zstd payload, given the original size and checksum of what zstd decodes it to: a valid
// single frame must then be accepted with exactly that output, and nothing else may be.
void check_zstd_reference(ByteSpan file) {
    if (file.size() < kHeader || file[5] != static_cast<std::uint8_t>(container::Method::zstd)) return;
    const ByteSpan payload = file.subspan(kHeader);
    const unsigned long long size = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > kMaxReferenceOutput) return;
    Bytes ref(static_cast<std::size_t>(size));
    const std::size_t n = ZSTD_decompress(ref.data(), ref.size(), payload.data(), payload.size());
    if (ZSTD_isError(n) || n != size) return;
    // Exactly one frame, and not a skippable one.
    const bool one_frame = ZSTD_findFrameCompressedSize(payload.data(), payload.size()) == payload.size() &&
                           payload.size() >= 4 && get_le(payload, 0, 4) == ZSTD_MAGICNUMBER;

    Bytes f(file.begin(), file.end());
    put_le(f, 8, size, 8);
    put_le(f, 16, XXH64(ref.data(), ref.size(), 0), 8);
    f = with_matching_checksums(f);
    auto out = bbans::decompress(f, resolve_model);
    if (out) {
        ++fuzz::stats().repaired_decoded;
        FUZZ_CHECK(*out == ref);
        // docs/format.md: the payload is one zstd frame, and a reader rejects anything else.
        FUZZ_CHECK(one_frame);
        (void)check_file(f);
    } else {
        check_error(out.error());
        FUZZ_CHECK(!(one_frame && header_fields_valid(f)));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan input(data, size);
    ++fuzz::stats().inputs;
    if (check_file(input)) {
        ++fuzz::stats().decoded;
    } else {
        ++fuzz::stats().rejected;
    }
    check_message(input, input);
    if (size >= kHeader) {
        const Bytes repaired = with_matching_checksums(input);
        if (check_file(repaired)) ++fuzz::stats().repaired_decoded;
        check_zstd_reference(input);
    }
    return 0;
}
