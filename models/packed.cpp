#include "models/packed.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>

#include "models/neighbourhood.hpp"

// The AVX2 kernels are compiled on every x86-64 build (with the target attribute) and chosen at
// run time by the CPU, so a generic build (BBANS_NATIVE=OFF, a distribution package) is as fast
// as a -march=native one on AVX2 machines, and still runs everywhere else.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define BBANS_HAVE_AVX2_KERNEL 1
#define BBANS_AVX2 __attribute__((target("avx2")))
#include <immintrin.h>
#endif

namespace bbans::models {

namespace {

// The most inputs a head has (channels, then the context of 4 samples per pixel): what its
// skip adds to its last layer's inputs.
constexpr std::size_t kMaxHeadSkip = 64 + head_context_size(kMaxImageChannels);

// A pair of inputs (2p, 2p+1) of which at least one is non-zero.
struct NonZeroPair {
    std::uint32_t pair;
    std::int32_t packed;  // the two int16 inputs as one int32: x[2p] in the low half
};

// Per-thread buffers, so that nothing is allocated per call once they have grown.
struct Scratch {
    std::vector<NonZeroPair> nz;
    std::vector<std::int32_t> acc;
    std::vector<std::int16_t> a, b;
};

Scratch& scratch() {
    thread_local Scratch s;
    return s;
}

#if defined(BBANS_HAVE_AVX2_KERNEL)
// acc[0, 8R) = bias[0, 8R) + sum over the non-zero pairs of the rows' weight pairs times the
// input pair; w points at row 0 of this block within pair 0. Each vpmaddwd result is one
// row's W[r][2p] x[2p] + W[r][2p+1] x[2p+1], exact in int32 (see packed.hpp).
template <int R>
BBANS_AVX2 void block(const std::int16_t* w, std::size_t pair_stride, const NonZeroPair* nz, std::size_t n, const std::int32_t* bias,
           std::int32_t* acc) {
    __m256i a[R];
    for (int j = 0; j < R; ++j) a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8 * j));
    for (std::size_t i = 0; i < n; ++i) {
        const __m256i xv = _mm256_set1_epi32(nz[i].packed);
        const std::int16_t* wp = w + std::size_t{nz[i].pair} * pair_stride;
        for (int j = 0; j < R; ++j)
            a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16 * j)), xv));
    }
    for (int j = 0; j < R; ++j) _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + 8 * j), a[j]);
}

// x[2p], x[2p + 1] as one int32 (x[2p] in the low half: x86 is little-endian).
inline std::int32_t pair_at(const std::int16_t* x, std::size_t p) {
    std::int32_t v;
    std::memcpy(&v, x + 2 * p, sizeof v);
    return v;
}

// a[0, R) += every input pair's weights times the pair, read straight from x (no list of
// non-zero pairs); w points at row 0 of this block within pair 0, x holds `in` values. An odd
// last input goes alone (its pair's weight for input `in` is 0 in the packed layout).
template <int R>
BBANS_AVX2 inline void madd_pairs(__m256i* a, const std::int16_t* w, std::size_t pair_stride, const std::int16_t* x, std::size_t in) {
    const std::int16_t* wp = w;
    for (std::size_t p = 0; p < in / 2; ++p, wp += pair_stride) {
        const __m256i xv = _mm256_set1_epi32(pair_at(x, p));
        for (int j = 0; j < R; ++j)
            a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16 * j)), xv));
    }
    if (in % 2 != 0) {
        const __m256i xv = _mm256_set1_epi32(static_cast<std::uint16_t>(x[in - 1]));
        for (int j = 0; j < R; ++j)
            a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16 * j)), xv));
    }
}

// acc[0, 8R) = bias[0, 8R) + madd_pairs over every input pair.
template <int R>
BBANS_AVX2 void dense_block(const std::int16_t* w, std::size_t pair_stride, const std::int16_t* x, std::size_t in,
                            const std::int32_t* bias, std::int32_t* acc) {
    __m256i a[R];
    for (int j = 0; j < R; ++j) a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + 8 * j));
    madd_pairs<R>(a, w, pair_stride, x, in);
    for (int j = 0; j < R; ++j) _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + 8 * j), a[j]);
}

// requantize() of 8 rows whose shifts are all in 1..31 (see accumulate_avx2).
BBANS_AVX2 inline __m256i requantize8(__m256i a, const std::int32_t* shift, const std::int32_t* lo, const std::int32_t* hi) {
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i sh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift));
    const __m256i q = _mm256_srav_epi32(a, sh);
    const __m256i half = _mm256_and_si256(_mm256_srav_epi32(a, _mm256_sub_epi32(sh, one)), one);
    __m256i v = _mm256_add_epi32(q, half);
    v = _mm256_max_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo)));
    return _mm256_min_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi)));
}

// The per-pixel head, one layer at a time with every accumulator in registers (a head's layers
// have at most 64 hidden rows and 16 output rows). Same results as accumulate_avx2 and the
// int16 copy between layers: the sums are exact int32 sums, so neither the grouping nor the
// order of the additions changes them.

// A hidden layer of R blocks of 8 rows: h[0, 8R) = its requantized rows as int16 (padding rows
// 0; validate() bounds hidden values to int16, so the saturating pack is exact). x: l.in values.
template <int R>
BBANS_AVX2 void hidden_rows(const PackedLinear& l, const std::int16_t* x, std::int16_t* h) {
    __m256i a[R];
    for (int j = 0; j < R; ++j) a[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(l.bias.data() + 8 * j));
    madd_pairs<R>(a, l.w.data(), static_cast<std::size_t>(l.out_pad) * 2, x, static_cast<std::size_t>(l.in));
    for (int j = 0; j < R; j += 2) {
        const __m256i v0 = requantize8(a[j], l.shift32.data() + 8 * j, l.lo.data() + 8 * j, l.hi.data() + 8 * j);
        const __m256i v1 = j + 1 < R ? requantize8(a[j + 1], l.shift32.data() + 8 * j + 8, l.lo.data() + 8 * j + 8, l.hi.data() + 8 * j + 8)
                                     : _mm256_setzero_si256();
        // packs works within 128-bit lanes: [v0 0-3, v1 0-3, v0 4-7, v1 4-7]; permute to order.
        const __m256i packed16 = _mm256_permute4x64_epi64(_mm256_packs_epi32(v0, v1), 0xD8);
        if (j + 1 < R) _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + 8 * j), packed16);
        else _mm_storeu_si128(reinterpret_cast<__m128i*>(h + 8 * j), _mm256_castsi256_si128(packed16));
    }
}

// The output layer of R blocks of 8 rows: out[0, 8R) = its requantized rows. x: l.in values,
// and x[l.in] = 0 when l.in is odd (a lone last input pairs with it). Two sets of accumulators
// over alternate input pairs (independent additions).
template <int R>
BBANS_AVX2 void output_rows(const PackedLinear& l, const std::int16_t* x, std::int32_t* out) {
    __m256i b[R], c[R];
    for (int j = 0; j < R; ++j) {
        b[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(l.bias.data() + 8 * j));
        c[j] = _mm256_setzero_si256();
    }
    const auto pairs = static_cast<std::size_t>(l.pairs), stride = static_cast<std::size_t>(l.out_pad) * 2;
    std::size_t p = 0;
    for (; p + 1 < pairs; p += 2) {
        const __m256i xv0 = _mm256_set1_epi32(pair_at(x, p)), xv1 = _mm256_set1_epi32(pair_at(x, p + 1));
        const std::int16_t* wp = l.w.data() + p * stride;
        for (int j = 0; j < R; ++j) {
            b[j] = _mm256_add_epi32(b[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16 * j)), xv0));
            c[j] = _mm256_add_epi32(c[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + stride + 16 * j)), xv1));
        }
    }
    if (p < pairs) {
        const __m256i xv0 = _mm256_set1_epi32(pair_at(x, p));
        const std::int16_t* wp = l.w.data() + p * stride;
        for (int j = 0; j < R; ++j)
            b[j] = _mm256_add_epi32(b[j], _mm256_madd_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp + 16 * j)), xv0));
    }
    for (int j = 0; j < R; ++j)
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * j),
                            requantize8(_mm256_add_epi32(b[j], c[j]), l.shift32.data() + 8 * j, l.lo.data() + 8 * j, l.hi.data() + 8 * j));
}
#endif

}  // namespace

PackedLinear PackedLinear::pack(const QLinear& q) {
    PackedLinear p;
    p.in = q.in;
    p.out = q.out;
    p.pairs = (q.in + 1) / 2;
    p.out_pad = (q.out + 7) / 8 * 8;
    const auto in = static_cast<std::size_t>(q.in), out = static_cast<std::size_t>(q.out);
    const auto out_pad = static_cast<std::size_t>(p.out_pad);
    p.w.assign(static_cast<std::size_t>(p.pairs) * out_pad * 2, 0);
    for (std::size_t r = 0; r < out; ++r)
        for (std::size_t c = 0; c < in; ++c) p.w[((c / 2) * out_pad + r) * 2 + c % 2] = q.weight[r * in + c];
    if (out_pad <= 64) p.w_rows = q.weight;  // for the portable kernel (see accumulate_portable)
    p.bias.assign(out_pad, 0);
    std::copy(q.bias.begin(), q.bias.end(), p.bias.begin());
    // Padding rows: shift 1, clamp [0, 0].
    p.shift32.assign(out_pad, 1);
    p.lo.assign(out_pad, 0);
    p.hi.assign(out_pad, 0);
    p.plain_shifts = true;
    for (std::size_t r = 0; r < out; ++r) {
        p.shift32[r] = q.shift[r];
        p.lo[r] = q.lo[r];
        p.hi[r] = q.hi[r];
        p.plain_shifts = p.plain_shifts && q.shift[r] >= 1 && q.shift[r] <= 31;
    }
    return p;
}

// acc[0, out_pad) = requantized rows, in plain C++ (any summation order gives the same exact
// int32 sums). The reference for the SIMD version, and what builds without AVX2 run.
void PackedLinear::accumulate_portable(const std::int16_t* x, std::int32_t* acc) const {
    const auto rows = static_cast<std::size_t>(out_pad), n = static_cast<std::size_t>(in);
    std::copy(bias.begin(), bias.end(), acc);
    if (!w_rows.empty()) {
        // Small layers: dot products along rows (the reference kernel's sums; compilers
        // vectorize this form well, the pair layout would need shuffles). Padding rows keep 0.
        row_sums(w_rows.data(), static_cast<std::size_t>(out), n, bias.data(), x, acc);
    } else {
        for (std::size_t p = 0; p < static_cast<std::size_t>(pairs); ++p) {
            const std::int32_t x0 = x[2 * p], x1 = 2 * p + 1 < n ? x[2 * p + 1] : 0;
            if (x0 == 0 && x1 == 0) continue;
            const std::int16_t* wp = w.data() + p * rows * 2;
            for (std::size_t r = 0; r < rows; ++r) acc[r] += wp[2 * r] * x0 + wp[2 * r + 1] * x1;
        }
    }
    for (std::size_t r = 0; r < rows; ++r) acc[r] = requantize(acc[r], static_cast<std::int8_t>(shift32[r]), lo[r], hi[r]);
}

#if defined(BBANS_HAVE_AVX2_KERNEL)
BBANS_AVX2 void PackedLinear::accumulate_avx2(const std::int16_t* x, std::int32_t* acc) const {
    const auto rows = static_cast<std::size_t>(out_pad), nin = static_cast<std::size_t>(in);
    const std::size_t stride = rows * 2;
    if (rows <= 64) {
        // One block of rows: finding the zero pairs would cost more than multiplying them.
        switch (rows / 8) {
            case 8: dense_block<8>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 7: dense_block<7>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 6: dense_block<6>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 5: dense_block<5>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 4: dense_block<4>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 3: dense_block<3>(w.data(), stride, x, nin, bias.data(), acc); break;
            case 2: dense_block<2>(w.data(), stride, x, nin, bias.data(), acc); break;
            default: dense_block<1>(w.data(), stride, x, nin, bias.data(), acc); break;
        }
    } else {
        // The pairs with a non-zero input (each written, and kept if non-zero: no branch), then
        // blocks of 64 rows whose 8 accumulators stay in registers across those pairs.
        Scratch& s = scratch();
        const auto npairs = static_cast<std::size_t>(pairs);
        s.nz.resize(npairs);
        std::size_t n = 0;
        for (std::size_t p = 0; p < npairs; ++p) {
            const std::int32_t x0 = x[2 * p], x1 = 2 * p + 1 < nin ? x[2 * p + 1] : 0;
            s.nz[n] = {static_cast<std::uint32_t>(p),
                       static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<std::uint16_t>(x0)) |
                                                 (static_cast<std::uint32_t>(static_cast<std::uint16_t>(x1)) << 16))};
            n += (x0 | x1) != 0;
        }
        for (std::size_t r0 = 0; r0 < rows; r0 += 64) {
            const std::int16_t* w0 = w.data() + r0 * 2;
            switch (std::min<std::size_t>(8, (rows - r0) / 8)) {
                case 8: block<8>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 7: block<7>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 6: block<6>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 5: block<5>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 4: block<4>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 3: block<3>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                case 2: block<2>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
                default: block<1>(w0, stride, s.nz.data(), n, bias.data() + r0, acc + r0); break;
            }
        }
    }
    if (!plain_shifts) {
        for (std::size_t r = 0; r < rows; ++r) acc[r] = requantize(acc[r], static_cast<std::int8_t>(shift32[r]), lo[r], hi[r]);
        return;
    }
    // requantize() for shifts in 1..31 without its int64 step: with acc = q 2^s + rem,
    // 0 <= rem < 2^s, floor((acc + 2^(s-1)) / 2^s) = q + [rem >= 2^(s-1)]
    //                                             = (acc >> s) + ((acc >> (s-1)) & 1).
    const __m256i one = _mm256_set1_epi32(1);
    for (std::size_t r = 0; r < rows; r += 8) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + r));
        const __m256i sh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(shift32.data() + r));
        const __m256i q = _mm256_srav_epi32(a, sh);
        const __m256i half = _mm256_and_si256(_mm256_srav_epi32(a, _mm256_sub_epi32(sh, one)), one);
        __m256i v = _mm256_add_epi32(q, half);
        v = _mm256_max_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(lo.data() + r)));
        v = _mm256_min_epi32(v, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(hi.data() + r)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r), v);
    }
}
#endif

namespace {
bool cpu_has_avx2() {
#if defined(BBANS_HAVE_AVX2_KERNEL)
    // BBANS_PORTABLE_KERNELS=1 in the environment forces the plain C++ kernels (the
    // determinism test runs one build that way, to compare them with AVX2 on whole files).
    const char* portable = std::getenv("BBANS_PORTABLE_KERNELS");
    if (portable != nullptr && std::strcmp(portable, "1") == 0) return false;
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}
}  // namespace

bool PackedLinear::has_avx2() {
    static const bool yes = cpu_has_avx2();
    return yes;
}

void PackedLinear::forward_padded(const std::int16_t* x, std::int32_t* acc, Kernel kernel) const {
#if defined(BBANS_HAVE_AVX2_KERNEL)
    if (kernel == Kernel::best && has_avx2()) accumulate_avx2(x, acc);
    else accumulate_portable(x, acc);
#else
    (void)kernel;
    accumulate_portable(x, acc);
#endif
}

template <class Out>
void PackedLinear::forward(const std::int16_t* x, Out* y, Kernel kernel) const {
    Scratch& s = scratch();
    s.acc.resize(static_cast<std::size_t>(out_pad));
    forward_padded(x, s.acc.data(), kernel);
    // Outputs are within [lo, hi]; for hidden layers (Out = int16) validate() checked that fits.
    for (std::size_t r = 0; r < static_cast<std::size_t>(out); ++r) y[r] = static_cast<Out>(s.acc[r]);
}

template void PackedLinear::forward(const std::int16_t*, std::int32_t*, Kernel) const;
template void PackedLinear::forward(const std::int16_t*, std::int16_t*, Kernel) const;

// ---- PackedVae -----------------------------------------------------------------------------------

namespace {
// The fused kernels for a head whose hidden layers have at most 64 rows and whose output layer
// at most 16 (every shift in 1..31), when the CPU has AVX2; else none (output null). With the
// skip, the output layer also reads the head's inputs (at most kMaxHeadSkip).
PackedVae::FusedHead fused_head(const std::vector<PackedLinear>& head, bool head_skip) {
    PackedVae::FusedHead f;
#if defined(BBANS_HAVE_AVX2_KERNEL)
    const std::int32_t skip = head_skip ? head.front().in : 0;
    if (!PackedLinear::has_avx2() || head.size() < 2 || static_cast<std::size_t>(skip) > kMaxHeadSkip) return f;
    static constexpr PackedVae::HiddenKernel hidden[8] = {hidden_rows<1>, hidden_rows<2>, hidden_rows<3>, hidden_rows<4>,
                                                          hidden_rows<5>, hidden_rows<6>, hidden_rows<7>, hidden_rows<8>};
    for (std::size_t i = 0; i + 1 < head.size(); ++i) {
        const PackedLinear& l = head[i];
        const std::int32_t next_in = head[i + 1].in - (i + 2 == head.size() ? skip : 0);
        if (!l.plain_shifts || l.out_pad > 64 || next_in != l.out) return {};
        f.hidden.push_back(hidden[l.out_pad / 8 - 1]);
    }
    const PackedLinear& last = head.back();
    if (!last.plain_shifts || last.out_pad > 16) return {};
    f.output = last.out_pad == 8 ? output_rows<1> : output_rows<2>;
#else
    (void)head;
    (void)head_skip;
#endif
    return f;
}
}  // namespace

Expected<PackedVae> PackedVae::make(const QuantizedVae& q) {
    // The configuration's bounds too (channels <= 64, components <= 8): callers size per-pixel
    // buffers by them. Files are checked on load; a model built in memory is checked here.
    if (auto ok = q.config().validate(); !ok) return ok.error();
    if (auto ok = q.validate(); !ok) return ok.error();
    PackedVae p;
    p.config_ = q.config();
    for (const QLinear& l : q.encoder()) p.encoder_.push_back(PackedLinear::pack(l));
    for (const QLinear& l : q.decoder()) p.decoder_.push_back(PackedLinear::pack(l));
    for (const QLinear& l : q.encoder2()) p.encoder2_.push_back(PackedLinear::pack(l));
    for (const QLinear& l : q.prior1()) p.prior1_.push_back(PackedLinear::pack(l));
    // One head, or (head_per_channel) S of them, each with its own fused kernel (or none).
    if (!q.head().empty())
        for (std::size_t s = 0; s < q.config().heads(); ++s) {
            std::vector<PackedLinear>& head = p.heads_.emplace_back();
            for (const QLinear& l : q.channel_head(s)) {
                head.push_back(PackedLinear::pack(l));
                p.head_width_ = std::max(p.head_width_, static_cast<std::size_t>(head.back().out_pad));
            }
            p.fused_.push_back(fused_head(head, p.config_.head_skip));
        }
    return p;
}

namespace {
// Runs the layers on `in` (int16 inputs); the last layer's outputs go to out. Hidden outputs
// are within [0, 4095] or +-4095 (validate() checked that they fit int16). skip (the head's
// skip): the last layer reads [last hidden outputs ; in[0, skip)].
void run(const std::vector<PackedLinear>& layers, const std::int16_t* in, std::int32_t* out, std::size_t skip = 0) {
    Scratch& s = scratch();
    const std::int16_t* x = in;
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
        std::vector<std::int16_t>& next = (i % 2 == 0) ? s.a : s.b;
        const auto n = static_cast<std::size_t>(layers[i].out);
        next.resize(n + (i + 2 == layers.size() ? skip : 0));
        layers[i].forward(x, next.data());
        if (i + 2 == layers.size()) std::copy_n(in, skip, next.data() + n);
        x = next.data();
    }
    layers.back().forward(x, out);
}
}  // namespace

void PackedVae::posterior(std::span<const std::uint8_t> x, std::span<std::int32_t> mean_q16,
                          std::span<std::int32_t> log_scale_q8) const {
    const std::size_t L = config_.latent;
    thread_local std::vector<std::int16_t> in;
    thread_local std::vector<std::int32_t> out;
    in.assign(x.begin(), x.end());
    out.resize(2 * L);
    run(encoder_, in.data(), out.data());
    for (std::size_t i = 0; i < L; ++i) {
        mean_q16[i] = out[i];
        log_scale_q8[i] = out[L + i];
    }
}

namespace {
// The layers on latents (bucket centres, Q16, fed as the decoder's inputs): their outputs in out.
const std::vector<std::int32_t>& run_on_latents(const std::vector<PackedLinear>& layers, std::span<const std::int32_t> z_q16) {
    thread_local std::vector<std::int16_t> in;
    thread_local std::vector<std::int32_t> out;
    in.resize(z_q16.size());
    for (std::size_t i = 0; i < z_q16.size(); ++i) in[i] = decoder_input(z_q16[i]);
    out.resize(static_cast<std::size_t>(layers.back().out));
    run(layers, in.data(), out.data());
    return out;
}
// Outputs [0, n) as means, [n, 2n) as log-scales.
void split_latent_gaussian(const std::vector<std::int32_t>& out, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) {
    const std::size_t n = mean_q16.size();
    std::copy_n(out.begin(), n, mean_q16.begin());
    std::copy_n(out.begin() + static_cast<std::ptrdiff_t>(n), n, log_scale_q8.begin());
}
}  // namespace

void PackedVae::posterior2(std::span<const std::int32_t> z1_q16, std::span<std::int32_t> mean_q16,
                           std::span<std::int32_t> log_scale_q8) const {
    split_latent_gaussian(run_on_latents(encoder2_, z1_q16), mean_q16, log_scale_q8);
}

void PackedVae::prior1(std::span<const std::int32_t> z2_q16, std::span<std::int32_t> mean_q16, std::span<std::int32_t> log_scale_q8) const {
    split_latent_gaussian(run_on_latents(prior1_, z2_q16), mean_q16, log_scale_q8);
}

void PackedVae::decoder_channels(std::span<const std::int32_t> z_q16, std::span<std::int16_t> channels) const {
    const std::vector<std::int32_t>& out = run_on_latents(decoder_, z_q16);
    for (std::size_t k = 0; k < out.size(); ++k) channels[k] = static_cast<std::int16_t>(out[k]);  // within +-4095
}

void PackedVae::pixel_params(const std::int16_t* channels, const std::uint8_t* neighbours, std::size_t s, QPixelMixture& px) const {
    std::vector<std::int16_t> in(channels, channels + config_.channels);
    if (config_.autoregressive) in.insert(in.end(), neighbours, neighbours + head_context_size(config_.image_channels));
    head(in.data(), s, px);
}

void PackedVae::head(const std::int16_t* input, std::size_t s, QPixelMixture& px) const {
    // Called for every pixel. Usual heads (layers up to 256 wide) run on the stack, without
    // the generic path's buffers and copies.
    constexpr std::size_t kWide = 256;
    std::array<std::int32_t, kWide> acc;
    const std::int32_t* out = acc.data();
    const std::size_t head_index = config_.head_per_channel ? s : 0;
    const std::vector<PackedLinear>& layers = heads_[head_index];
    const std::size_t skip = config_.head_skip ? static_cast<std::size_t>(layers.front().in) : 0;  // inputs the last layer reads again
#if defined(BBANS_HAVE_AVX2_KERNEL)
    if (const FusedHead& fused = fused_[head_index]; fused.output != nullptr) {
        // Two int16 buffers, each room for 64 hidden values, the skip's inputs and a 0.
        constexpr std::size_t kBuf = 64 + kMaxHeadSkip + 2;
        alignas(32) std::array<std::int16_t, 2 * kBuf> h;
        const std::int16_t* x = input;
        std::int16_t* last = h.data();
        for (std::size_t i = 0; i < fused.hidden.size(); ++i) {
            last = h.data() + (i % 2) * kBuf;
            fused.hidden[i](layers[i], x, last);
            x = last;
        }
        if (skip > 0) {  // the head's inputs after the last hidden layer's outputs, then a 0
            const auto n = static_cast<std::size_t>(layers[layers.size() - 2].out);
            std::copy_n(input, skip, last + n);
            last[n + skip] = 0;
        }
        fused.output(layers.back(), x, acc.data());
    } else
#endif
    if (head_width_ <= kWide) {
        std::array<std::int16_t, kWide + kMaxHeadSkip> h;
        const std::int16_t* x = input;
        for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
            layers[i].forward_padded(x, acc.data());
            for (std::size_t k = 0; k < static_cast<std::size_t>(layers[i].out); ++k) h[k] = static_cast<std::int16_t>(acc[k]);
            x = h.data();
        }
        // The skip: the head's inputs after the last hidden layer's outputs.
        if (skip > 0) std::copy_n(input, skip, h.begin() + layers[layers.size() - 2].out);
        layers.back().forward_padded(x, acc.data());
    } else {
        run(layers, input, acc.data(), skip);
    }
    const std::size_t K = config_.components;
    px.k = K;
    // A loop of known length with a test inside, so that the compiler copies these few values
    // in place rather than through three memcpy calls per pixel (4% of coding time).
    for (std::size_t j = 0; j < QPixelMixture::kMaxComponents; ++j) {
        if (j >= K) break;
        px.logits[j] = out[j];
        px.means[j] = out[K + j];
        px.log_scales[j] = out[2 * K + j];
    }
}

}  // namespace bbans::models
