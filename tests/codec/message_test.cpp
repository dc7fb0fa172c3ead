#include <catch2/catch.hpp>
#include <random>
#include <vector>

#include "codec/message.hpp"
#include "test_util.hpp"

using bbans::codec::Message;
using bbans::codec::MessageStatus;

TEST_CASE("message: pop after push restores the message bit for bit", "[message]") {
    std::mt19937_64 rng(1);
    for (std::size_t lanes : {1u, 2u, 4u, 7u}) {
        for (int trial = 0; trial < 2000; ++trial) {
            Message m = bbans::test::random_message(rng, lanes, trial % 50);
            const Message before = m;
            const unsigned prec = 1 + static_cast<unsigned>(rng() % 31);
            const std::uint64_t total = std::uint64_t{1} << prec;
            const auto start = static_cast<std::uint32_t>(rng() % total);
            const auto freq = static_cast<std::uint32_t>(1 + rng() % (total - start));
            const std::size_t lane = rng() % lanes;
            m.push(lane, start, freq, prec);
            const std::uint32_t cf = m.peek(lane, prec);
            REQUIRE(cf >= start);
            REQUIRE(cf < start + freq);
            m.pop(lane, start, freq, prec);
            REQUIRE(m.ok());
            REQUIRE(m == before);
            // Bit for bit, not only canonically equal.
            REQUIRE(std::vector<std::uint64_t>(m.heads().begin(), m.heads().end()) ==
                    std::vector<std::uint64_t>(before.heads().begin(), before.heads().end()));
            REQUIRE(m.tail().size() == before.tail().size());
        }
    }
}

TEST_CASE("message: heads stay in range and long sequences invert", "[message]") {
    std::mt19937_64 rng(2);
    Message m(3);
    struct Op { std::size_t lane; std::uint32_t start, freq; unsigned prec; };
    std::vector<Op> ops;
    for (int i = 0; i < 20000; ++i) {
        const unsigned prec = 1 + static_cast<unsigned>(rng() % 31);
        const std::uint64_t total = std::uint64_t{1} << prec;
        const auto start = static_cast<std::uint32_t>(rng() % total);
        // Mostly tiny frequencies (expensive symbols), to force renormalization often.
        const auto freq = static_cast<std::uint32_t>(1 + rng() % std::min<std::uint64_t>(total - start, (rng() & 1) ? 3 : total));
        ops.push_back({rng() % 3, start, freq, prec});
        m.push(ops.back().lane, start, freq, prec);
        for (std::uint64_t h : m.heads()) REQUIRE(h >= bbans::codec::kHeadMin);
    }
    for (std::size_t i = ops.size(); i-- > 0;) m.pop(ops[i].lane, ops[i].start, ops[i].freq, ops[i].prec);
    REQUIRE(m.ok());
    REQUIRE(m == Message(3));
    REQUIRE(m.tail().empty());
    REQUIRE(m.virtual_words_drawn() == 0);
}

TEST_CASE("message: popping an empty message draws counted words from the virtual bottom", "[message]") {
    Message m(1);
    REQUIRE(m.initial_bits() == 0);
    std::vector<std::uint32_t> cfs;
    // Pop 100 symbols of 12 bits, each with frequency 1: 1200 bits must come from somewhere.
    for (int i = 0; i < 100; ++i) {
        const std::uint32_t cf = m.peek(0, 12);
        cfs.push_back(cf);
        m.pop(0, cf, 1, 12);
    }
    REQUIRE(m.ok());
    // 1200 bits popped from a head of at least 32 bits: between 36 and 38 words were drawn.
    REQUIRE(m.virtual_words_drawn() >= (1200 - 32) / 32);
    REQUIRE(m.virtual_words_drawn() <= 1200 / 32 + 2);
    REQUIRE(m.initial_bits() == 32 * m.virtual_words_drawn());
    // The virtual words are not all zero: the popped values vary.
    REQUIRE(std::count(cfs.begin(), cfs.end(), cfs[5]) < 10);
    // Pushing the symbols back gives the drawn words back: the message is empty again.
    for (std::size_t i = cfs.size(); i-- > 0;) m.push(0, cfs[i], 1, 12);
    REQUIRE(m == Message(1));
    m.canonicalize();
    REQUIRE(m.tail().empty());
    REQUIRE(m.virtual_words_drawn() == 0);
}

TEST_CASE("message: invalid intervals and mismatches fail and stick", "[message]") {
    SECTION("zero frequency") {
        Message m;
        m.push(0, 3, 0, 8);
        REQUIRE(m.status() == MessageStatus::bad_interval);
    }
    SECTION("interval past 2^prec") {
        Message m;
        m.push(0, 250, 7, 8);
        REQUIRE(m.status() == MessageStatus::bad_interval);
    }
    SECTION("precision 0 and 32") {
        Message a, b;
        a.push(0, 0, 1, 0);
        b.push(0, 0, 1, 32);
        REQUIRE(a.status() == MessageStatus::bad_interval);
        REQUIRE(b.status() == MessageStatus::bad_interval);
    }
    SECTION("pop with an interval that does not contain cf") {
        Message m;
        m.push(0, 10, 5, 8);
        const Message before = m;
        m.pop(0, 20, 5, 8);
        REQUIRE(m.status() == MessageStatus::mismatch);
        // Nothing changes after a failure.
        m.push(0, 1, 1, 8);
        REQUIRE(m.heads()[0] == before.heads()[0]);
        REQUIRE_FALSE(m.to_bytes().has_value());
    }
}

TEST_CASE("message: serialization round-trips", "[message][serialization]") {
    std::mt19937_64 rng(3);
    for (std::size_t lanes : {1u, 3u, 16u}) {
        Message m = bbans::test::random_message(rng, lanes, 500);
        for (int i = 0; i < 40; ++i) m.pop(0, m.peek(0, 20), 1, 20);  // draw some virtual words too
        auto bytes = m.to_bytes();
        REQUIRE(bytes.has_value());
        REQUIRE(bytes->size() * 8 == m.size_bits());
        auto back = Message::from_bytes(*bytes);
        REQUIRE(back.has_value());
        REQUIRE(*back == m);
        REQUIRE(back->virtual_words_drawn() == m.virtual_words_drawn());
    }
}

TEST_CASE("message: hostile bytes are rejected with an error, never a crash", "[message][serialization]") {
    std::mt19937_64 rng(4);
    Message m = bbans::test::random_message(rng, 2, 300);
    const std::vector<std::uint8_t> good = *m.to_bytes();

    SECTION("every truncation") {
        for (std::size_t n = 0; n < good.size(); ++n) {
            auto r = Message::from_bytes(std::span(good.data(), n));
            REQUIRE_FALSE(r.has_value());
            REQUIRE_FALSE(r.error().message.empty());
        }
    }
    SECTION("trailing garbage") {
        auto longer = good;
        longer.push_back(0);
        REQUIRE_FALSE(Message::from_bytes(longer).has_value());
    }
    SECTION("oversized tail length") {
        auto bad = good;
        const std::size_t count_at = 4 + 8 + 2 * 8;
        for (int i = 0; i < 8; ++i) bad[count_at + i] = 0xFF;
        auto r = Message::from_bytes(bad);
        REQUIRE_FALSE(r.has_value());
        REQUIRE_THAT(r.error().message, Catch::Contains("tail length"));
    }
    SECTION("lane count 0 and too large") {
        auto bad = good;
        bad[0] = bad[1] = bad[2] = bad[3] = 0;
        REQUIRE_FALSE(Message::from_bytes(bad).has_value());
        bad[3] = 0x7F;
        REQUIRE_FALSE(Message::from_bytes(bad).has_value());
    }
    SECTION("virtual word count beyond its bound") {
        auto bad = good;
        for (int i = 4; i < 12; ++i) bad[i] = 0xFF;  // drawn = 2^64 - 1: 32 * drawn would overflow
        REQUIRE_THAT(Message::from_bytes(bad).error().message, Catch::Contains("virtual word count"));
    }
    SECTION("head below 2^32") {
        auto bad = good;
        for (int i = 4; i < 8; ++i) bad[12 + i] = 0;  // high half of head 0
        REQUIRE_FALSE(Message::from_bytes(bad).has_value());
    }
    SECTION("random bytes") {
        for (int trial = 0; trial < 5000; ++trial) {
            std::vector<std::uint8_t> junk(rng() % 64);
            for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
            if (!junk.empty() && (trial & 1)) junk[0] = 1, junk.resize(std::max<std::size_t>(junk.size(), 4)), junk[1] = junk[2] = junk[3] = 0;
            auto r = Message::from_bytes(junk);
            if (r.has_value()) {  // whatever parses must be a valid message that re-serializes identically
                REQUIRE(*r->to_bytes() == junk);
            }
        }
    }
}
