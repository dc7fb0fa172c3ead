// Hierarchical latents (VaeConfig::latent2 > 0) as the coder codes them: two bb_ans nested in the
// Bit-Swap order. Every image and the message come back bit for bit, the rate is the integer
// hierarchical -ELBO, the integer second-layer networks agree between kernels, and model files
// round-trip and refuse damage.
#include <catch2/catch.hpp>
#include <cmath>
#include <random>

#include "models/packed.hpp"
#include "models/serialize.hpp"
#include "src/coding/model_file.hpp"
#include "src/coding/tiled_coder.hpp"
#include "src/coding/vae_coder.hpp"
#include "round_trip.hpp"
#include "test_models.hpp"

using namespace bbans;

TEST_CASE("hierarchical coder: images of any size round-trip and restore the message", "[coding][hierarchical]") {
    for (std::size_t S : {1u, 3u}) {
        const auto tm = test::tiny_hierarchical_model(31, S);
        auto coder = coding::TiledCoder::make(tm.q);
        REQUIRE(coder.has_value());
        // The whole-image tile (8x8), and images of several bands and tiles with partial ones.
        const std::pair<std::size_t, std::size_t> sizes[] = {{8, 8}, {3, 5}, {20, 17}, {9, 31}};
        CAPTURE(S);
        test::check_round_trips(*coder, sizes, [&](std::size_t rows, std::size_t cols) {
            return test::colour_images(1, rows, cols, S, rows * 100 + cols);
        });
    }
}

TEST_CASE("hierarchical coder: many whole images on one message come back in order", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(32);
    auto coder = *coding::TiledCoder::make(tm.q);
    const std::size_t n = 12;
    const auto px = test::blob_images(n, 8, 8, 6);
    for (std::size_t lanes : {1u, 3u}) {
        codec::Message m(lanes);
        for (std::size_t i = 0; i < n; ++i)
            REQUIRE(coder.push(m, std::span(px.data() + i * 64, 64), 8, 8, i == 0 ? 1 : 0).has_value());
        REQUIRE(m.ok());
        for (std::size_t i = n; i-- > 0;) {
            const auto x = coder.pop(m, 8, 8, i == 0 ? 1 : 0);
            REQUIRE(std::equal(x.begin(), x.end(), px.begin() + static_cast<std::ptrdiff_t>(i * 64)));
        }
        REQUIRE(m == codec::Message(lanes));
    }
}

TEST_CASE("hierarchical coder: the rate of many images matches the integer hierarchical -ELBO", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(33);
    auto coder = *coding::TiledCoder::make(tm.q);
    const std::size_t rows = 19, cols = 13, n = 40, draws = 8;
    std::mt19937_64 rng(3);
    codec::Message m(2);
    double elbo = 0, latent = 0, latent2 = 0, first = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto px = test::colour_images(1, rows, cols, 1, 500 + i);
        const double before = static_cast<double>(m.size_bits());
        REQUIRE(coder.push(m, px, rows, cols, i == 0 ? 3 : 0).has_value());
        if (i == 0) {
            first = static_cast<double>(m.size_bits()) - before;
            continue;
        }
        // The -ELBO as the mean of several single-sample estimates (less scatter).
        for (std::size_t k = 0; k < draws; ++k)
            elbo += coder.neg_elbo_bits(px, rows, cols, [&] { return rng(); }, 0, &latent, &latent2) / draws;
    }
    const double net = static_cast<double>(m.size_bits()) - first;
    CAPTURE(net, elbo, latent / draws, latent2 / draws);
    REQUIRE(net == Approx(elbo).epsilon(0.01));
    // Both layers carry bits, and the z2 part is within the latents' part.
    CHECK(latent2 > 0);
    CHECK(latent > latent2);
}

TEST_CASE("hierarchical coder: the -ELBO is the one-layer -ELBO plus z2's terms, with the coder's frequencies", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(34);
    auto coder = *coding::TiledCoder::make(tm.q);
    const auto px = test::blob_images(1, 8, 8, 9);
    std::mt19937_64 a(5), b(5);
    double latent = 0, latent2 = 0;
    const double bits = coder.neg_elbo_bits(px, 8, 8, [&] { return a(); }, 0, &latent, &latent2);
    // The same by hand from the pieces: z1 from q(z1|x), z2 from q(z2|z1) with the same draws.
    const auto q1 = coder.posterior_models(px, 8, 8);
    coding::Latent z1(q1.size());
    double expected_latent = 0, expected2 = 0;
    for (std::size_t i = 0; i < q1.size(); ++i) {
        z1[i] = q1[i].symbol(static_cast<std::uint32_t>(b() & ((1u << q1[i].precision()) - 1)));
        expected_latent += std::log2(q1[i].interval(z1[i]).freq / std::ldexp(1.0, static_cast<int>(q1[i].precision())));
    }
    const auto q2 = coder.posterior2_models(z1);
    REQUIRE(q2.size() == 3);
    coding::Latent z2(q2.size());
    for (std::size_t i = 0; i < q2.size(); ++i) {
        z2[i] = q2[i].symbol(static_cast<std::uint32_t>(b() & ((1u << q2[i].precision()) - 1)));
        expected2 += std::log2(q2[i].interval(z2[i]).freq / std::ldexp(1.0, static_cast<int>(q2[i].precision()))) + coder.grid().prior_precision();
    }
    const auto p1 = coder.prior1_models(z2);
    REQUIRE(p1.size() == z1.size());
    for (std::size_t i = 0; i < p1.size(); ++i)
        expected_latent -= std::log2(p1[i].interval(z1[i]).freq / std::ldexp(1.0, static_cast<int>(p1[i].precision())));
    const models::Frame f{8, 8, 1};
    std::vector<std::uint8_t> frame(f.size());
    models::cut_frame(px.data(), 8, 8, f, 0, 0, frame.data());
    const double likelihood = coder.likelihood(z1, frame, 8, 8).cost_bits(px);
    CHECK(latent2 == Approx(expected2).epsilon(1e-12));
    CHECK(latent == Approx(expected_latent + expected2).epsilon(1e-12));
    CHECK(bits == Approx(likelihood + expected_latent + expected2).epsilon(1e-12));
}

TEST_CASE("hierarchical coder: posterior2 and prior1 are the same in every kernel and follow the float networks", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(35);
    const auto& cfg = tm.q.config();
    auto packed = models::PackedVae::make(tm.q);
    REQUIRE(packed.has_value());
    auto grid = *codec::BucketGrid::make(cfg.prior_precision);
    std::mt19937_64 rng(7);
    double worst_mean = 0;
    // A network of the second layer on random bucket centres (in dims, out dims out): the
    // reference and packed kernels give the same integers, close to the float network's values.
    const auto check = [&](std::size_t in, std::size_t out, auto quantized, auto packed_net, auto float_net) {
        std::vector<std::int32_t> z(in);
        std::vector<float> zf(in);
        for (std::size_t i = 0; i < in; ++i) zf[i] = static_cast<float>((z[i] = grid.centre_q16(rng() % grid.buckets())) / 65536.0);
        std::vector<std::int32_t> m1(out), s1(out), m2(out), s2(out);
        quantized(z, m1, s1);
        packed_net(z, m2, s2);
        REQUIRE(m1 == m2);
        REQUIRE(s1 == s2);
        const models::Posterior<float> f = float_net(zf);
        for (std::size_t i = 0; i < out; ++i) {
            worst_mean = std::max(worst_mean, std::abs(m1[i] / 65536.0 - f.mean[i]));
            CHECK(s1[i] / 256.0 == Approx(f.log_scale[i]).margin(0.1));
        }
    };
    using Z = std::vector<std::int32_t>;
    for (int trial = 0; trial < 50; ++trial) {
        check(
            cfg.latent, cfg.latent2, [&](const Z& z, Z& m, Z& s) { tm.q.posterior2(z, m, s); },
            [&](const Z& z, Z& m, Z& s) { packed->posterior2(z, m, s); }, [&](const std::vector<float>& z) { return tm.vae.posterior2(z); });
        check(
            cfg.latent2, cfg.latent, [&](const Z& z, Z& m, Z& s) { tm.q.prior1(z, m, s); },
            [&](const Z& z, Z& m, Z& s) { packed->prior1(z, m, s); }, [&](const std::vector<float>& z) { return tm.vae.prior1(z); });
    }
    CAPTURE(worst_mean);
    CHECK(worst_mean < 0.1);
}

TEST_CASE("hierarchical model files round-trip byte for byte and keep their identity", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(36);
    // The float model file, its checkpoint and the coding model file.
    test::check_model_files_round_trip(tm);
    const std::string coding = models::serialize_coding_model(tm.vae.info(), tm.q);
    // The same weights without the second layer are another (smaller) model.
    auto plain_cfg = tm.q.config();
    plain_cfg.latent2 = 0;
    const models::QuantizedVae plain(plain_cfg, tm.q.encoder(), tm.q.decoder(), tm.q.head(), tm.q.channel_frac());
    REQUIRE(plain.validate().has_value());
    CHECK(models::serialize_coding_model(tm.vae.info(), plain).size() < coding.size());
    // A model made by CodingModel::from_trained codes.
    const auto px = test::blob_images(16, 8, 8, 2);
    auto made = coding::CodingModel::from_trained(tm.vae, {px.data(), 16, 8, 8});
    REQUIRE(made.has_value());
    CHECK(made->file.config().hierarchical());
    CHECK(coding::TiledCoder::make(made->quantized()).has_value());
}

TEST_CASE("hierarchical model files: truncated or hostile files are rejected", "[coding][hierarchical][hostile]") {
    const auto tm = test::tiny_hierarchical_model(37);
    const std::string coding = models::serialize_coding_model(tm.vae.info(), tm.q);
    const std::string payload(*models::unwrap_container(models::kCodingModelMagic, coding));
    auto rejects = [](const std::string& p) {
        auto r = models::deserialize_coding_model(models::wrap_container(models::kCodingModelMagic, p));
        if (r.has_value()) return false;
        CHECK_FALSE(r.error().message.empty());
        return true;
    };
    CHECK_FALSE(rejects(payload));
    // Every truncation of the payload (in particular, without the second layer's stacks).
    for (std::size_t n = 0; n < payload.size(); n += 1 + n / 16) {
        INFO("payload length " << n);
        CHECK(rejects(payload.substr(0, n)));
    }
    // The second layer's stacks cut off, or one more byte.
    const auto q_size = [](const std::vector<models::QLinear>& ls) {
        std::size_t n = 4;
        for (const auto& l : ls) n += 8 + l.weight.size() * 2 + l.bias.size() * 4 + l.shift.size() + l.lo.size() * 8 + l.in_max.size() * 4;
        return n;
    };
    const std::size_t stacks = q_size(tm.q.encoder2()) + q_size(tm.q.prior1());
    CHECK(rejects(payload.substr(0, payload.size() - stacks)));
    CHECK(rejects(payload + '\0'));
    // A one-layer model's payload with the hierarchical stacks appended is refused, as is a
    // hierarchical configuration with latent2 = 0 or a stack of the wrong shape.
    auto plain_cfg = tm.q.config();
    plain_cfg.latent2 = 0;
    const models::QuantizedVae plain(plain_cfg, tm.q.encoder(), tm.q.decoder(), tm.q.head(), tm.q.channel_frac());
    const std::string plain_payload(*models::unwrap_container(models::kCodingModelMagic, models::serialize_coding_model(tm.vae.info(), plain)));
    CHECK(rejects(plain_payload + payload.substr(payload.size() - stacks)));
    // (latent2 and latent2_hidden, 3 and 8, follow the configuration's last fixed field, the
    // posterior precision 18.)
    const std::string l2_bytes("\x12\x00\x00\x00\x03\x00\x00\x00\x08\x00\x00\x00", 12);
    REQUIRE(payload.find(l2_bytes) != std::string::npos);
    const std::size_t at = payload.find(l2_bytes) + 4;
    for (std::uint8_t v : {0, 2, 200}) {
        std::string bad = payload;
        bad[at] = static_cast<char>(v);
        CHECK(rejects(bad));
    }
    std::string wide = payload;
    wide[at + 4] = 9;  // latent2_hidden 9: the stacks have 8 rows
    CHECK(rejects(wide));
    std::string huge = payload;
    huge[at + 7] = 0x40;  // latent2_hidden 2^30
    CHECK(rejects(huge));
    // Random mutations: an Error or a valid model, never a crash.
    std::mt19937_64 rng(38);
    for (int trial = 0; trial < 200; ++trial) {
        std::string mut = payload;
        mut[at + rng() % (mut.size() - at)] = static_cast<char>(rng() % 256);
        auto r = models::deserialize_coding_model(models::wrap_container(models::kCodingModelMagic, mut));
        if (r.has_value()) CHECK(r->quantized.validate().has_value());
    }
    // The float model file: a payload without its last tensors is refused.
    const std::string file = models::serialize_model(tm.vae);
    const std::string fp(*models::unwrap_container(models::kModelMagic, file));
    for (std::size_t n : {fp.size() - 1, fp.size() - 4 * (2 * 8 + 2 * 4), fp.size() / 2})
        CHECK_FALSE(models::deserialize_model(models::wrap_container(models::kModelMagic, fp.substr(0, n))).has_value());
}

TEST_CASE("hierarchical coder: VaeCoder refuses a hierarchical model", "[coding][hierarchical]") {
    const auto tm = test::tiny_hierarchical_model(39);
    CHECK_FALSE(coding::VaeCoder::make(tm.q).has_value());
}
