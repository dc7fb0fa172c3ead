#include "codec/message.hpp"

#include "bbans/bytes.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace bbans::codec {

const char* to_string(MessageStatus s) {
    switch (s) {
        case MessageStatus::ok: return "ok";
        case MessageStatus::bad_interval: return "invalid symbol interval (zero frequency or out of range)";
        case MessageStatus::mismatch: return "decoded value outside the symbol's interval (encoder/decoder mismatch or corrupt data)";
    }
    return "unknown message status";
}

// splitmix64 of the index: a fixed, well-mixed sequence that both ends can compute from the
// index alone, so a hostile "drawn" count costs nothing to honour.
std::uint32_t virtual_word(std::uint64_t index) {
    std::uint64_t z = index + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<std::uint32_t>(z >> 32);
}

Message::Message(std::size_t lanes) : heads_(std::clamp<std::size_t>(lanes, 1, kMaxLanes), kHeadMin) {}

std::uint64_t Message::size_bits() const {
    return 32 + 64 + 64 * heads_.size() + 64 + 32 * tail_.size();
}

double Message::content_bits() const {
    double bits = 32.0 * static_cast<double>(tail_.size());
    for (std::uint64_t h : heads_) bits += std::log2(static_cast<double>(h)) - 32.0;
    return bits;
}

void Message::canonicalize() {
    std::size_t k = 0;
    while (drawn_ > 0 && k < tail_.size() && tail_[k] == virtual_word(drawn_ - 1)) {
        ++k;
        --drawn_;
    }
    tail_.erase(tail_.begin(), tail_.begin() + static_cast<std::ptrdiff_t>(k));
}

bool operator==(const Message& a, const Message& b) {
    Message ca = a, cb = b;
    ca.canonicalize();
    cb.canonicalize();
    return ca.status_ == cb.status_ && ca.drawn_ == cb.drawn_ && ca.heads_ == cb.heads_ &&
           ca.tail_ == cb.tail_;
}

Expected<std::vector<std::uint8_t>> Message::to_bytes() const {
    if (!ok()) return make_error(std::string("cannot serialize a failed message: ") + to_string(status_));
    std::vector<std::uint8_t> out;
    out.reserve(size_bits() / 8);
    ByteWriter w(out);
    w.u32(static_cast<std::uint32_t>(heads_.size()));
    w.u64(drawn_);
    for (std::uint64_t h : heads_) w.u64(h);
    w.u64(tail_.size());
    for (std::uint32_t word : tail_) w.u32(word);
    return out;
}

Expected<Message> Message::from_bytes(std::span<const std::uint8_t> bytes) {
    ByteReader r(bytes);
    std::uint32_t lanes = 0;
    if (!r.u32(lanes)) return make_error("message truncated: no lane count");
    if (lanes == 0 || lanes > kMaxLanes)
        return make_error("message has an invalid lane count " + std::to_string(lanes));
    Message m(lanes);
    if (!r.u64(m.drawn_)) return make_error("message truncated: no virtual word count");
    // 32 * drawn must fit (initial_bits), with room for pops that draw more.
    if (m.drawn_ > kMaxVirtualWords) return make_error("message virtual word count " + std::to_string(m.drawn_) + " is out of range");
    for (std::uint32_t i = 0; i < lanes; ++i) {
        if (!r.u64(m.heads_[i])) return make_error("message truncated in its heads");
        if (m.heads_[i] < kHeadMin) return make_error("message head " + std::to_string(i) + " is out of range");
    }
    std::uint64_t count = 0;
    if (!r.u64(count)) return make_error("message truncated: no tail length");
    // Compare without multiplying: a hostile count must not overflow.
    if (r.remaining() % 4 != 0 || count != r.remaining() / 4)
        return make_error("message tail length " + std::to_string(count) + " does not match its " +
                          std::to_string(r.remaining()) + " remaining bytes");
    m.tail_.resize(static_cast<std::size_t>(count));
    for (auto& w : m.tail_) (void)r.u32(w);
    return m;
}

}  // namespace bbans::codec
