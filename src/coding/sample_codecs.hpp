#pragma once
// The coding half of the likelihood seam (models/likelihood_kind.hpp is the float and
// quantization half): a sample's integer parameters -> the codec/ symbol model for that sample.
// models/ and codec/ never include each other; this is where the two meet.
//
// A SampleCodec is a struct of static functions and a Scratch:
//   Scratch                 the per-sample working state (parameters and symbol model), reused
//                           from sample to sample without re-initialization
//   model(vae, in, ch, settings, s)
//                           in: the sample's inputs as the likelihood takes them (its
//                           decoder_channels() values, then its context if the likelihood
//                           reads one), ch: its channel in its pixel (0..S-1, which picks the
//                           head of a model with per-channel heads); s.model becomes the
//                           sample's symbol model (SampleSettings: its precision, ...)
//   symbol(v) / value(s)    a sample value <-> the model's symbol (a value the likelihood
//                           cannot code maps to a symbol with an empty interval, which push
//                           refuses)
// The coders (tiled_coder.hpp) pick the SampleCodec once per band with with_sample_codec and run
// their per-sample loops on it: no virtual call per sample, and the mixture's loop is the code it
// was before the seam.
#include <cstdint>

#include "codec/categorical.hpp"
#include "codec/fixed_point.hpp"
#include "codec/logistic.hpp"
#include "models/config.hpp"
#include "models/packed.hpp"
#include "models/quantized.hpp"

namespace bbans::coding {

// Pixel mixture parameters from the quantized head -> the codec's integer parameters
// (vae_coder.cpp). Mixture weights are e^(logit - max logit) in Q20 from the codec's integer exp
// table; components more than 8 nats below the best get weight 0; scale_offset_q8 is added to
// every component's log-scale.
void pixel_model(const models::QPixelMixture& px, unsigned precision, codec::LogisticMixture& out, std::int32_t scale_offset_q8);

// What a band's sample models take beyond the model (CoderSettings): the symbol models'
// precision, and the offset added to every logistic component's log-scale (Q8 nats).
struct SampleSettings {
    unsigned precision = 24;
    std::int32_t scale_offset_q8 = 0;
};

// The discretized logistic mixture: the head turns the sample's C channels and 12 (or more)
// context values into K components.
struct MixtureSampleCodec {
    using Model = codec::LogisticMixture;
    struct Scratch {
        models::QPixelMixture params;
        Model model;
    };
    static void model(const models::PackedVae& vae, const std::int16_t* in, std::size_t ch, const SampleSettings& set, Scratch& s) {
        vae.head(in, ch, s.params);
        pixel_model(s.params, set.precision, s.model, set.scale_offset_q8);
    }
    static std::uint32_t symbol(std::uint8_t v) { return v; }
    static std::uint8_t value(std::uint32_t s) { return static_cast<std::uint8_t>(s); }
};

// Bernoulli on binary samples: the decoder's one channel is the logit l (Q8 nats, +-16);
// P(255) = sigmoid(l) from the codec's integer sigmoid, at prec bits (clamped to [1, 2^prec - 1]
// by codec::Bernoulli). Samples 0 and 255 are the symbols 0 and 1; any other value cannot be
// coded (symbol 2: empty interval).
struct BernoulliSampleCodec {
    using Model = codec::Bernoulli;
    struct Scratch {
        Model model{1, 16};
    };
    static std::uint32_t one_frequency(std::int32_t logit_q8, unsigned prec) {
        const std::int64_t p_q31 = codec::fixed::sigmoid_q31(std::int64_t{logit_q8} << (codec::fixed::kArgFrac - models::kQPixelFrac));
        return static_cast<std::uint32_t>(p_q31 >> (31 - prec));
    }
    static void model(const models::PackedVae&, const std::int16_t* in, std::size_t, const SampleSettings& set, Scratch& s) {
        s.model = Model(one_frequency(in[0], set.precision), set.precision);  // (no scales to offset)
    }
    static std::uint32_t symbol(std::uint8_t v) { return v == 0 ? 0u : v == 255 ? 1u : 2u; }
    static std::uint8_t value(std::uint32_t s) { return s != 0 ? 255 : 0; }
};

// Calls f(SampleCodec{}) with the sample codec of likelihood l (every value of
// models::Likelihood has one; coder_parts refuses a model whose likelihood does not).
template <class F>
decltype(auto) with_sample_codec(models::Likelihood l, F&& f) {
    switch (l) {
        case models::Likelihood::bernoulli: return f(BernoulliSampleCodec{});
        case models::Likelihood::logistic_mixture: break;
    }
    return f(MixtureSampleCodec{});
}

}  // namespace bbans::coding
