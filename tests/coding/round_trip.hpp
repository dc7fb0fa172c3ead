#pragma once
// Round trips shared by the coder's tests: images of several sizes on messages that already hold
// bits, every image and the message restored bit for bit; the rate of many images against their
// integer -ELBO; a tiny model's files written and read back.
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "codec/message.hpp"
#include "models/serialize.hpp"
#include "src/coding/tiled_coder.hpp"
#include "test_models.hpp"

namespace bbans::test {

// A message of `lanes` lanes holding 40 symbols (a latent pop then reads them as bits back).
inline codec::Message some_message(std::size_t lanes, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    codec::Message m(lanes);
    for (int k = 0; k < 40; ++k) m.push(rng() % lanes, static_cast<std::uint32_t>(rng() % 1000), 1, 10);
    return m;
}

// For each size, images(rows, cols) pushed onto some_message with 1 and 3 lanes and 0 or 1 seed
// bands, then popped: the image and the message come back bit for bit.
template <class Images>
void check_round_trips(const coding::TiledCoder& coder, std::span<const std::pair<std::size_t, std::size_t>> sizes, Images images) {
    for (auto [rows, cols] : sizes)
        for (std::size_t lanes : {1u, 3u})
            for (std::size_t seed : {0u, 1u}) {
                CAPTURE(rows, cols, lanes, seed);
                const std::vector<std::uint8_t> px = images(rows, cols);
                codec::Message m = some_message(lanes, rows + cols);
                const codec::Message before = m;
                REQUIRE(coder.push(m, px, rows, cols, seed).has_value());
                REQUIRE(m.ok());
                REQUIRE(coder.pop(m, rows, cols, seed) == px);
                REQUIRE(m.ok());
                REQUIRE(m == before);
                REQUIRE(*m.to_bytes() == *before.to_bytes());
            }
}

// n images (images(i)) of rows x cols pushed onto one message of 2 lanes, the first with
// seed_bands seed bands: the bits the other n - 1 take on the message, and the sum of their
// integer -ELBOs (single-sample estimates, noise from rng_seed).
struct RateAndElbo {
    double net_bits = 0, neg_elbo_bits = 0;
};
template <class Images>
RateAndElbo rate_and_neg_elbo(const coding::TiledCoder& coder, std::size_t rows, std::size_t cols, std::size_t n, std::size_t seed_bands,
                              std::uint64_t rng_seed, Images images) {
    std::mt19937_64 rng(rng_seed);
    codec::Message m(2);
    double elbo = 0, first = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::vector<std::uint8_t> px = images(i);
        const double before = static_cast<double>(m.size_bits());
        REQUIRE(coder.push(m, px, rows, cols, i == 0 ? seed_bands : 0).has_value());
        if (i == 0) first = static_cast<double>(m.size_bits()) - before;
        else elbo += coder.neg_elbo_bits(px, rows, cols, [&] { return rng(); });
    }
    return {static_cast<double>(m.size_bits()) - first, elbo};
}

// A tiny model's float model file, its checkpoint and its coding model file come back byte for
// byte, with the same configuration, weights and identity.
inline void check_model_files_round_trip(const TinyModel& tm) {
    const std::string file = models::serialize_model(tm.vae);
    auto back = models::deserialize_model(file);
    REQUIRE(back.has_value());
    CHECK(back->config() == tm.vae.config());
    CHECK(models::serialize_model(*back) == file);
    CHECK(models::model_hash(*back) == models::model_hash(tm.vae));
    const std::string ck = models::serialize_checkpoint(tm.vae, {});
    auto ck_back = models::deserialize_checkpoint(ck);
    REQUIRE(ck_back.has_value());
    CHECK(models::serialize_checkpoint(ck_back->model, ck_back->state) == ck);
    const std::string coding = models::serialize_coding_model(tm.vae.info(), tm.q);
    auto cm = models::deserialize_coding_model(coding);
    REQUIRE(cm.has_value());
    CHECK(cm->quantized == tm.q);
    CHECK(cm->config() == tm.q.config());
    CHECK(models::serialize_coding_model(cm->info, cm->quantized) == coding);
    CHECK(cm->hash == models::hash128(*models::unwrap_container(models::kCodingModelMagic, coding)));
}

}  // namespace bbans::test
