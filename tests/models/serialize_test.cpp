// Model and checkpoint files: round trips, identity hash, and rejection of corrupt, truncated,
// foreign and hostile files (always an Error, never a crash or exception).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "models/serialize.hpp"
#include "test_util.hpp"

using namespace bbans::models;
using namespace bbans::models::test;

namespace {

VaeConfig tiny_config() {
    VaeConfig c;
    c.rows = 6;
    c.cols = 5;
    c.latent = 3;
    c.encoder_hidden = 8;
    c.decoder_hidden = 7;
    c.decoder_layers = 1;
    c.channels = 2;
    c.head_hidden = 6;
    c.components = 2;
    c.prior_precision = 12;
    c.posterior_precision = 24;
    return c;
}

Vae tiny_model(std::uint64_t seed = 3) {
    auto m = Vae::make(tiny_config(), seed);
    REQUIRE(m.has_value());
    m->info().description = "unit test model";
    m->info().epochs_trained = 7;
    m->info().heldout_neg_elbo_bpd = 1.25;
    m->info().train.learning_rate = 3e-4;
    return std::move(m).value();
}

std::filesystem::path temp_path(const std::string& name) {
    return std::filesystem::temp_directory_path() / ("bbans_models_test_" + name);
}

}  // namespace

TEST_CASE("Model file round trip is bit-identical with the same hash", "[serialize]") {
    const Vae a = tiny_model();
    const std::string bytes = serialize_model(a);
    CHECK(bytes.substr(0, 8) == "BBANSVAE");
    auto b = deserialize_model(bytes);
    REQUIRE(b.has_value());
    CHECK(b->config() == a.config());
    CHECK(b->info() == a.info());
    CHECK(b->config().prior_precision == 12);
    CHECK(b->config().posterior_precision == 24);
    const auto pa = a.params();
    const auto pb = b->params();
    REQUIRE(pa.size() == pb.size());
    for (std::size_t i = 0; i < pa.size(); ++i) {
        CHECK(pa[i]->name == pb[i]->name);
        CHECK(pa[i]->value == pb[i]->value);
    }
    CHECK(model_hash(*b) == model_hash(a));
    CHECK(serialize_model(*b) == bytes);
    auto fh = file_model_hash(bytes);
    REQUIRE(fh.has_value());
    CHECK(*fh == model_hash(a));
    CHECK(model_hash(a).hex().size() == 32);

    // Identical outputs through the inference API.
    std::vector<std::uint8_t> img = bar_images(1, 6, 5, 4);
    const auto qa = a.posterior(img), qb = b->posterior(img);
    CHECK(qa.mean == qb.mean);
    CHECK(qa.log_scale == qb.log_scale);
    const std::vector<float> z{0.3f, -1.0f, 0.7f};
    const auto ca = a.decoder_channels(z), cb = b->decoder_channels(z);
    CHECK(ca == cb);
    const std::vector<float> nb(kNeighbours, 0.5f);
    const auto ma = a.pixel_params(std::span<const float>(ca.data(), 2), nb, 0);
    const auto mb = b->pixel_params(std::span<const float>(cb.data(), 2), nb, 0);
    CHECK(ma.logits == mb.logits);
    CHECK(ma.means == mb.means);
    CHECK(ma.log_scales == mb.log_scales);

    // A different model has a different hash.
    CHECK(model_hash(tiny_model(4)) != model_hash(a));
}

TEST_CASE("A colour model round-trips; a grey model's bytes carry no extension", "[serialize]") {
    VaeConfig c = tiny_model().config();
    c.image_channels = 3;
    auto colour = Vae::make(c, 5);
    REQUIRE(colour.has_value());
    const std::string bytes = serialize_model(*colour);
    auto back = deserialize_model(bytes);
    REQUIRE(back.has_value());
    CHECK(back->config().image_channels == 3);
    CHECK(serialize_model(*back) == bytes);
    // The grey model's payload is the colour one's minus the 4-byte extension (and its weights).
    const Vae grey = tiny_model();
    CHECK(deserialize_model(serialize_model(grey))->config().image_channels == 1);
    CHECK(serialize_model(grey).size() < bytes.size());
}

TEST_CASE("A colour transform is stored; a colour model without one keeps its bytes", "[serialize]") {
    VaeConfig c = tiny_model().config();
    c.image_channels = 3;
    const std::string plain = serialize_model(*Vae::make(c, 5));
    for (auto t : {ColourTransform::subtract_green, ColourTransform::ycocg_r}) {
        c.colour_transform = t;
        auto v = Vae::make(c, 5);
        REQUIRE(v.has_value());
        const std::string bytes = serialize_model(*v);
        auto back = deserialize_model(bytes);
        REQUIRE(back.has_value());
        CHECK(back->config().colour_transform == t);
        CHECK(serialize_model(*back) == bytes);
        CHECK(bytes.size() == plain.size() + 1);  // one byte more: the transform
    }
    // A transform needs colour: a grey configuration with one is refused.
    VaeConfig grey = tiny_model().config();
    grey.colour_transform = ColourTransform::ycocg_r;
    CHECK_FALSE(grey.validate().has_value());
}

TEST_CASE("Model payload is canonical little-endian", "[serialize]") {
    const std::string bytes = serialize_model(tiny_model());
    // Header: magic, version 1 (LE uint32), then the payload length (LE uint64).
    CHECK(static_cast<unsigned char>(bytes[8]) == 1);
    CHECK(bytes[9] == 0);
    // Payload: cereal's endianness flag (1 = little), then rows = 6 as a LE uint32.
    CHECK(static_cast<unsigned char>(bytes[20]) == 1);
    CHECK(static_cast<unsigned char>(bytes[21]) == 6);
    CHECK(bytes[22] == 0);
    CHECK(bytes[24] == 0);
}

TEST_CASE("Model files save and load through the file system", "[serialize]") {
    const Vae a = tiny_model();
    const auto path = temp_path("model.bbm");
    REQUIRE(save_model(a, path).has_value());
    auto b = load_model(path);
    REQUIRE(b.has_value());
    CHECK(model_hash(*b) == model_hash(a));
    std::filesystem::remove(path);
    auto missing = load_model(path);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().message.find("no such file") != std::string::npos);
}

TEST_CASE("Saving a model touches no file but its own", "[serialize]") {
    // A file next to the target with the name a naive writer would use as its temporary file.
    const Vae a = tiny_model();
    const auto path = temp_path("neighbour.bbm");
    auto neighbour = path;
    neighbour += ".tmp";
    { std::ofstream(neighbour) << "the user's own file\n"; }
    REQUIRE(save_model(a, path).has_value());
    REQUIRE(save_model(a, path).has_value());  // replacing the model file is what saving means
    std::ifstream in(neighbour);
    std::string line;
    std::getline(in, line);
    CHECK(line == "the user's own file");
    REQUIRE(load_model(path).has_value());
    std::filesystem::remove(path);
    std::filesystem::remove(neighbour);
}

TEST_CASE("Corrupted model files are rejected", "[serialize]") {
    const std::string bytes = serialize_model(tiny_model());
    Rng rng(61);
    // Every header byte, and a sample of payload and hash bytes, flipped one at a time.
    std::vector<std::size_t> positions;
    for (std::size_t i = 0; i < 20; ++i) positions.push_back(i);
    for (int i = 0; i < 200; ++i) positions.push_back(static_cast<std::size_t>(rng.uniform_below(bytes.size())));
    for (std::size_t i = bytes.size() - 16; i < bytes.size(); ++i) positions.push_back(i);
    for (std::size_t pos : positions) {
        std::string bad = bytes;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << rng.uniform_below(8)));
        auto r = deserialize_model(bad);
        INFO("byte " << pos);
        CHECK_FALSE(r.has_value());
    }
    std::string flipped = bytes;
    flipped[100] = static_cast<char>(flipped[100] ^ 0x40);
    auto r = deserialize_model(flipped);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("hash") != std::string::npos);
}

TEST_CASE("Truncated model files are rejected", "[serialize]") {
    const std::string bytes = serialize_model(tiny_model());
    Rng rng(62);
    std::vector<std::size_t> lengths;
    for (std::size_t n = 0; n < 64; ++n) lengths.push_back(n);
    for (int i = 0; i < 200; ++i) lengths.push_back(static_cast<std::size_t>(rng.uniform_below(bytes.size())));
    lengths.push_back(bytes.size() - 1);
    for (std::size_t n : lengths) {
        INFO("length " << n);
        CHECK_FALSE(deserialize_model(std::string_view(bytes).substr(0, n)).has_value());
    }
    auto r = deserialize_model(std::string_view(bytes).substr(0, bytes.size() / 2));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("truncated") != std::string::npos);
    // Trailing garbage is rejected too.
    CHECK_FALSE(deserialize_model(bytes + "x").has_value());
}

TEST_CASE("Foreign files and other versions are rejected", "[serialize]") {
    const Vae m = tiny_model();
    CHECK_FALSE(deserialize_model("").has_value());
    CHECK_FALSE(deserialize_model("\x89PNG\r\n\x1a\n and some more bytes to get past the header size").has_value());
    std::string random(5000, '\0');
    Rng rng(63);
    for (auto& c : random) c = static_cast<char>(rng.uniform_below(256));
    CHECK_FALSE(deserialize_model(random).has_value());
    // A checkpoint is not a model file, and the other way round.
    CheckpointState st;
    const std::string ck = serialize_checkpoint(m, st);
    auto r1 = deserialize_model(ck);
    REQUIRE_FALSE(r1.has_value());
    CHECK(r1.error().message.find("magic") != std::string::npos);
    CHECK_FALSE(deserialize_checkpoint(serialize_model(m)).has_value());
    // Version 2 (with a valid hash) is refused by name.
    std::string v2 = serialize_model(m);
    v2[8] = 2;
    auto r2 = deserialize_model(v2);
    REQUIRE_FALSE(r2.has_value());
    CHECK(r2.error().message.find("version 2") != std::string::npos);
}

TEST_CASE("Hostile payloads with a valid hash are rejected without crashing", "[serialize]") {
    const Vae m = tiny_model();
    const std::string file = serialize_model(m);
    auto payload_or = unwrap_container(kModelMagic, file);
    REQUIRE(payload_or.has_value());
    const std::string payload(*payload_or);
    // Rewrapping a valid payload gives a valid file.
    CHECK(deserialize_model(wrap_container(kModelMagic, payload)).has_value());

    // Absurd dimensions: rows = 1,000,000 (bytes 1..4 of the payload).
    std::string huge = payload;
    huge[1] = '\x40';
    huge[2] = '\x42';
    huge[3] = '\x0f';
    auto r = deserialize_model(wrap_container(kModelMagic, huge));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("configuration") != std::string::npos);

    // Truncated payloads and payloads with extra bytes.
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{30}, payload.size() / 2, payload.size() - 1})
        CHECK_FALSE(deserialize_model(wrap_container(kModelMagic, std::string_view(payload).substr(0, n))).has_value());
    CHECK_FALSE(deserialize_model(wrap_container(kModelMagic, payload + '\0')).has_value());

    // A NaN weight (the last 4 bytes are the last bias value).
    std::string nan = payload;
    const float q = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(nan.data() + nan.size() - 4, &q, 4);
    auto rn = deserialize_model(wrap_container(kModelMagic, nan));
    REQUIRE_FALSE(rn.has_value());
    CHECK(rn.error().message.find("non-finite") != std::string::npos);

    // Random byte mutations of the payload, rewrapped: an Error or a valid model, never a crash.
    Rng rng(64);
    int rejected = 0;
    for (int trial = 0; trial < 300; ++trial) {
        std::string mut = payload;
        const int edits = 1 + static_cast<int>(rng.uniform_below(3));
        for (int e = 0; e < edits; ++e) {
            // Mostly in the configuration / metadata region, where the structure is.
            const std::size_t limit = rng.uniform_below(2) == 0 ? std::min<std::size_t>(mut.size(), 300) : mut.size();
            mut[rng.uniform_below(limit)] = static_cast<char>(rng.uniform_below(256));
        }
        auto res = deserialize_model(wrap_container(kModelMagic, mut));
        if (!res.has_value()) {
            ++rejected;
            CHECK_FALSE(res.error().message.empty());
        } else {
            CHECK(res->config().validate().has_value());
        }
    }
    CHECK(rejected > 0);
}

TEST_CASE("Checkpoint round trip keeps Adam moments and trainer state", "[serialize]") {
    Vae m = tiny_model();
    Rng rng(65);
    for (Param<float>* p : m.params()) {
        p->m = random_matrix(rng, p->value.rows(), p->value.cols()).cast<float>();
        p->v = random_matrix(rng, p->value.rows(), p->value.cols()).cwiseAbs().cast<float>();
    }
    CheckpointState st;
    st.train.epochs = 9;
    st.epochs_done = 4;
    st.adam_steps = 1234;
    st.rng = Rng(99).state();
    st.data_hash = 0xABCDEF;
    st.data_count = 77;
    st.last_heldout_bpd = 1.5;
    const auto path = temp_path("run.ckpt");
    REQUIRE(save_checkpoint(m, st, path).has_value());
    auto ck = load_checkpoint(path);
    std::filesystem::remove(path);
    REQUIRE(ck.has_value());
    CHECK(ck->state.train == st.train);
    CHECK(ck->state.epochs_done == 4);
    CHECK(ck->state.adam_steps == 1234);
    CHECK(ck->state.rng == st.rng);
    CHECK(ck->state.data_hash == 0xABCDEF);
    CHECK(ck->state.data_count == 77);
    CHECK(ck->state.last_heldout_bpd == 1.5);
    CHECK(model_hash(ck->model) == model_hash(m));
    const auto pa = m.params(), pb = ck->model.params();
    for (std::size_t i = 0; i < pa.size(); ++i) {
        CHECK(pa[i]->m == pb[i]->m);
        CHECK(pa[i]->v == pb[i]->v);
    }
    // Truncated checkpoints fail cleanly.
    const std::string bytes = serialize_checkpoint(m, st);
    for (std::size_t n : {std::size_t{10}, bytes.size() / 3, bytes.size() - 5})
        CHECK_FALSE(deserialize_checkpoint(std::string_view(bytes).substr(0, n)).has_value());
}
