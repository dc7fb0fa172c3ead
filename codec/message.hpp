#pragma once
// The rANS message: a stack of bits that codecs push symbols onto and pop them from.
//
// TRAPS (read these first)
//  * rANS is a stack. The last symbol pushed is the first one popped, so an encoder pushes in
//    reverse of the order the decoder will pop. All combinators in codec.hpp do this for you.
//  * pop() needs the interval of the symbol it is popping, so decoding is two steps:
//    peek(lane, prec) gives the cumulative frequency cf, the model turns cf into a symbol and
//    its (start, freq), then pop(lane, start, freq, prec) removes it. Between the two the
//    caller must verify start <= cf < start + freq; pop_symbol() in codec.hpp does.
//  * Popping more than was pushed is allowed and defined: below the bottom of the tail lies
//    an endless, fixed sequence of pseudo-random words (the "virtual bottom"). Each word
//    drawn from it is counted: that count times 32 is the "initial bits" that bits-back
//    coding of the first image costs. pushing the same words back returns them (see
//    canonicalize()).
//  * Errors are sticky, like a stream's failbit: a bad interval or an encoder/decoder
//    mismatch sets status() and the message stops changing. Check ok() after a batch.
//
// STATE
//  Each lane has a head h, a uint64 with 2^32 <= h < 2^64. The lanes share one tail, a stack
//  of uint32 words. Lanes let independent symbol streams interleave (more instruction-level
//  parallelism); with one lane this is plain rANS with 64-bit state and 32-bit words.
//
// ARITHMETIC (M = 2^prec, 1 <= prec <= 31, a symbol owns [start, start + freq) in [0, M))
//  push:  h' = (h / freq) * M + (h mod freq) + start
//  pop:   cf = h' mod M;  h = freq * (h' / M) + cf - start
//  These are inverses: h' / M = h / freq and h' mod M = (h mod freq) + start, because
//  (h mod freq) + start < freq + start <= M.
//  Bounds. For h' < 2^64 we need h / freq < 2^(64 - prec), i.e. h < freq * 2^(64 - prec).
//  If h is at or above that, move its low 32 bits to the tail (h >>= 32) first. One move is
//  enough: h < 2^64 gives h >> 32 < 2^32 <= freq * 2^(64 - prec) (prec <= 32), and
//  h >= freq * 2^(64 - prec) gives h >> 32 >= freq * 2^(32 - prec).
//  So before the arithmetic freq * 2^(32 - prec) <= h, and then h / freq >= 2^(32 - prec),
//  so h' >= 2^32: the head stays in [2^32, 2^64).
//  Pop mirrors it: after the arithmetic h >= freq * 2^(32-prec) >= 1 but may be below 2^32;
//  then one word comes back from the tail: h = (h << 32) | word. One is enough, by the same
//  bounds read backwards (h < freq * 2^(64 - prec) / 2^32 <= 2^32).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::codec {

inline constexpr unsigned kMaxPrecision = 31;
inline constexpr std::uint64_t kHeadMin = std::uint64_t{1} << 32;
inline constexpr std::size_t kMaxLanes = 256;
// A parsed message may claim at most this many drawn virtual words (far beyond any real file).
inline constexpr std::uint64_t kMaxVirtualWords = std::uint64_t{1} << 48;

enum class MessageStatus : std::uint8_t {
    ok = 0,
    bad_interval,  // push/pop with freq == 0, start + freq > 2^prec, or prec out of range
    mismatch,      // pop: the cf read from the message is not inside the symbol's interval
};

const char* to_string(MessageStatus s);

// Word number `index` of the virtual bottom (index 0 is the first one drawn).
std::uint32_t virtual_word(std::uint64_t index);

class Message {
public:
    explicit Message(std::size_t lanes = 1);

    std::size_t lanes() const { return heads_.size(); }
    bool ok() const { return status_ == MessageStatus::ok; }
    MessageStatus status() const { return status_; }
    void fail(MessageStatus s) {
        if (status_ == MessageStatus::ok) status_ = s;
    }

    // Push the interval [start, start + freq) of a 2^prec-sized range onto `lane`.
    void push(std::size_t lane, std::uint32_t start, std::uint32_t freq, unsigned prec) {
        if (!ok()) return;
        if (!valid_interval(start, freq, prec)) {
            fail(MessageStatus::bad_interval);
            return;
        }
        std::uint64_t h = heads_[lane];
        // h >= freq * 2^(64 - prec), written so that freq = 2^prec cannot overflow.
        if ((h >> (64 - prec)) >= freq) {
            tail_.push_back(static_cast<std::uint32_t>(h));
            h >>= 32;
        }
        heads_[lane] = ((h / freq) << prec) + (h % freq) + start;
    }

    // The cumulative frequency (in [0, 2^prec)) that the next pop from `lane` will decode.
    std::uint32_t peek(std::size_t lane, unsigned prec) const {
        return static_cast<std::uint32_t>(heads_[lane] & ((std::uint64_t{1} << prec) - 1));
    }

    // Remove the symbol with interval [start, start + freq) from `lane`. The caller has
    // checked start <= peek(lane, prec) < start + freq; if not, this fails with `mismatch`.
    void pop(std::size_t lane, std::uint32_t start, std::uint32_t freq, unsigned prec) {
        if (!ok()) return;
        if (!valid_interval(start, freq, prec)) {
            fail(MessageStatus::bad_interval);
            return;
        }
        const std::uint64_t h = heads_[lane];
        const std::uint64_t cf = h & ((std::uint64_t{1} << prec) - 1);
        if (cf < start || cf - start >= freq) {
            fail(MessageStatus::mismatch);
            return;
        }
        std::uint64_t n = freq * (h >> prec) + cf - start;
        if (n < kHeadMin) n = (n << 32) | pop_word();
        heads_[lane] = n;
    }

    // Words drawn from the virtual bottom so far (initial bits = 32 * this).
    std::uint64_t virtual_words_drawn() const { return drawn_; }
    std::uint64_t initial_bits() const { return 32 * drawn_; }

    // Size of the serialized message in bits (what storing it costs), and its information
    // content: the tail and the heads' bits above the 32 that an empty head holds.
    std::uint64_t size_bits() const;
    double content_bits() const;

    std::span<const std::uint64_t> heads() const { return heads_; }
    std::span<const std::uint32_t> tail() const { return tail_; }

    // Returns words at the bottom of the tail that equal the virtual words most recently
    // drawn to the virtual bottom. A message that drew k words and later pushed the same k
    // words back becomes identical to one that never drew them.
    void canonicalize();

    // Equality of canonical forms (status included).
    friend bool operator==(const Message& a, const Message& b);

    // Serialization (all little-endian):
    //   u32 lanes (1..256) | u64 virtual words drawn | u64 head[lanes] | u64 tail count |
    //   u32 tail[count] (bottom first)
    // A failed message cannot be serialized.
    Expected<std::vector<std::uint8_t>> to_bytes() const;
    // Hostile-input safe: every field is checked, the byte count must match exactly.
    static Expected<Message> from_bytes(std::span<const std::uint8_t> bytes);

private:
    // 1 <= prec <= 31, freq >= 1, start + freq <= 2^prec.
    static bool valid_interval(std::uint32_t start, std::uint32_t freq, unsigned prec) {
        return prec != 0 && prec <= kMaxPrecision && freq != 0 && std::uint64_t{start} + freq <= (std::uint64_t{1} << prec);
    }

    std::uint32_t pop_word() {
        if (!tail_.empty()) {
            const std::uint32_t w = tail_.back();
            tail_.pop_back();
            return w;
        }
        return virtual_word(drawn_++);
    }

    std::vector<std::uint64_t> heads_;
    std::vector<std::uint32_t> tail_;
    std::uint64_t drawn_ = 0;
    MessageStatus status_ = MessageStatus::ok;
};

}  // namespace bbans::codec
