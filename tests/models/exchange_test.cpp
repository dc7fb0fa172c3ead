// Training as several ranks (models/parallel.hpp ShardExchange), simulated in one process: each
// "rank" is a thread with its own Trainer, and ThreadExchange swaps their shards' results. The
// ranks must end with the weights, Adam moments and checkpoint bytes of a one-process run with
// the same shard count (bbans train over MPI relies on exactly this; tests/cli/mpi_train.sh runs
// the real thing).
#include <catch2/catch.hpp>

#include <algorithm>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "models/trainer.hpp"
#include "test_util.hpp"

using namespace bbans;
using namespace bbans::models;
using namespace bbans::models::test;

namespace {

// What the ranks share: a barrier, each rank's buffer and status.
struct Hub {
    explicit Hub(unsigned n) : ranks(n), barrier(n), buffers(n), statuses(n, Status(Ok{})) {}
    unsigned ranks;
    std::barrier<> barrier;
    std::vector<void*> buffers;
    std::vector<Status> statuses;
};

class ThreadExchange final : public ShardExchange {
public:
    ThreadExchange(Hub& hub, unsigned rank) : hub_(hub), rank_(rank) {}
    unsigned ranks() const override { return hub_.ranks; }
    unsigned rank() const override { return rank_; }
    void all_gather(std::span<float> d, std::span<const std::size_t> c) override { gather(d, c); }
    void all_gather(std::span<double> d, std::span<const std::size_t> c) override { gather(d, c); }
    void all_gather(std::span<std::uint64_t> d, std::span<const std::size_t> c) override { gather(d, c); }
    Status agree(Status local) override {
        hub_.statuses[rank_] = std::move(local);
        hub_.barrier.arrive_and_wait();
        Status out = Ok{};
        for (unsigned r = 0; r < hub_.ranks && out; ++r)
            if (!hub_.statuses[r]) out = hub_.statuses[r];
        hub_.barrier.arrive_and_wait();
        return out;
    }
    int gathers = 0;

private:
    template <class T>
    void gather(std::span<T> data, std::span<const std::size_t> counts) {
        ++gathers;
        if (counts.size() != hub_.ranks) throw std::logic_error("one count per rank");
        hub_.buffers[rank_] = data.data();
        hub_.barrier.arrive_and_wait();
        std::size_t at = 0;
        for (unsigned r = 0; r < hub_.ranks; ++r) {
            if (r != rank_) std::copy_n(static_cast<const T*>(hub_.buffers[r]) + at, counts[r], data.data() + at);
            at += counts[r];
        }
        hub_.barrier.arrive_and_wait();  // no rank reuses its buffer before all have read it
    }
    Hub& hub_;
    unsigned rank_;
};

VaeConfig tiny_config(std::uint32_t latent2 = 0) {
    VaeConfig c;
    c.latent2 = latent2;
    c.latent2_hidden = 8;
    c.rows = 8;
    c.cols = 8;
    c.latent = 4;
    c.encoder_hidden = 24;
    c.decoder_hidden = 24;
    c.channels = 2;
    c.head_hidden = 8;
    c.components = 2;
    return c;
}

TrainConfig tiny_train(std::uint32_t shards) {
    TrainConfig t;
    t.epochs = 2;
    t.batch_size = 32;
    t.seed = 9;
    t.warmup_steps = 3;
    t.threads = 2;
    t.shards = shards;
    return t;
}

std::string file_bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct RankResult {
    Status status = Ok{};
    std::optional<Trainer> trainer;
};

// Trains on `ranks` threads; rank 0 writes the checkpoint (others get none, as in bbans train).
std::vector<RankResult> train_ranks(unsigned ranks, const TrainConfig& tc, const std::vector<ImageSet>& train, const ImageSet& test,
                                    const std::filesystem::path& checkpoint, const VaeConfig& config = tiny_config()) {
    Hub hub(ranks);
    std::vector<RankResult> out(ranks);
    std::vector<std::thread> threads;
    for (unsigned r = 0; r < ranks; ++r)
        threads.emplace_back([&, r] {
            ThreadExchange ex(hub, r);
            TrainConfig mine = tc;
            if (r == 1) mine.threads = 1;  // ranks may have other core counts: it changes nothing
            auto t = Trainer::create(config, mine);
            if (!t) {
                out[r].status = t.error();
                return;
            }
            if (auto st = t->set_exchange(&ex); !st) {
                out[r].status = st;
                return;
            }
            out[r].status = t->run(train[r], &test, {}, r == 0 ? checkpoint : std::filesystem::path());
            (void)t->set_exchange(nullptr);
            out[r].trainer = std::move(*t);
        });
    for (auto& th : threads) th.join();
    return out;
}

}  // namespace

TEST_CASE("Ranks sharing shards train the bits of one process, last minibatch smaller than the ranks", "[trainer][exchange]") {
    // 193 images in minibatches of 32: the last one has 1 image, so 1 shard, and rank 1 has none.
    const auto px = bar_images(193, 8, 8, 31), test_px = bar_images(40, 8, 8, 32);
    const ImageSet train{px.data(), 193, 8, 8}, test{test_px.data(), 40, 8, 8};
    const auto dir = std::filesystem::temp_directory_path();
    const auto one_path = dir / "bbans_exchange_one.ckpt", ranks_path = dir / "bbans_exchange_ranks.ckpt";
    // 3 shards over 2 ranks: an uneven split (rank 0 shard 0, rank 1 shards 1 and 2); and a
    // hierarchical model (latent2 = 3).
    for (const auto& [shards, latent2] : {std::pair{2U, 0U}, std::pair{3U, 0U}, std::pair{3U, 3U}}) {
        INFO("shards " << shards << ", latent2 " << latent2);
        auto one = Trainer::create(tiny_config(latent2), tiny_train(shards));
        REQUIRE(one.has_value());
        REQUIRE(one->run(train, &test, {}, one_path).has_value());

        auto ranks = train_ranks(2, tiny_train(shards), {train, train}, test, ranks_path, tiny_config(latent2));
        for (unsigned r = 0; r < 2; ++r) {
            INFO("rank " << r);
            REQUIRE(ranks[r].status.has_value());
            const auto a = one->model().params(), b = ranks[r].trainer->model().params();
            for (std::size_t i = 0; i < a.size(); ++i) {
                INFO(a[i]->name);
                REQUIRE(a[i]->value == b[i]->value);
                REQUIRE(a[i]->m == b[i]->m);
                REQUIRE(a[i]->v == b[i]->v);
            }
            CHECK(ranks[r].trainer->model().info().heldout_neg_elbo_bpd == one->model().info().heldout_neg_elbo_bpd);
            CHECK(ranks[r].trainer->model().info().train_loss_bpd == one->model().info().train_loss_bpd);
            CHECK(model_hash(ranks[r].trainer->model()) == model_hash(one->model()));
        }
        const std::string a = file_bytes(one_path), b = file_bytes(ranks_path);
        CHECK(!a.empty());
        CHECK(a == b);
    }
    std::filesystem::remove(one_path);
    std::filesystem::remove(ranks_path);
}

TEST_CASE("Ranks refuse too few shards, other data, and fail together when rank 0 cannot write", "[trainer][exchange]") {
    const auto px = bar_images(64, 8, 8, 31), other_px = bar_images(64, 8, 8, 33), test_px = bar_images(16, 8, 8, 32);
    const ImageSet train{px.data(), 64, 8, 8}, other{other_px.data(), 64, 8, 8}, test{test_px.data(), 16, 8, 8};

    Hub hub(3);
    ThreadExchange ex(hub, 0);
    auto t = Trainer::create(tiny_config(), tiny_train(2));
    REQUIRE(t.has_value());
    auto st = t->set_exchange(&ex);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().message == "3 ranks need at least as many shards per minibatch, and the run has 2 (--shards)");

    auto ranks = train_ranks(2, tiny_train(2), {train, other}, test, {});
    for (auto& r : ranks) {
        REQUIRE_FALSE(r.status.has_value());
        CHECK(r.status.error().message == "rank 1 has other training images than rank 0");
    }
    ranks = train_ranks(2, tiny_train(2), {train, train}, test, "/nonexistent-dir/x.ckpt");
    for (auto& r : ranks) REQUIRE_FALSE(r.status.has_value());
    CHECK(ranks[0].status.error().message == ranks[1].status.error().message);
    CHECK(ranks[0].trainer->epochs_done() == 1);  // the epoch ran; its checkpoint failed on every rank
}
