#pragma once
// The codec algebra (after craystack).
//
// A *codec* for symbols of type S is anything with
//     void push(Message&, const S&) const;
//     S    pop(Message&) const;
// such that pop(push(m, s)) gives back s and leaves the message exactly as m was.
//
// The primitive codecs are built from *symbol models*: a precision p and two functions,
//     interval(s) -> {start, freq}     with freq >= 1 and start + freq <= 2^p
//     symbol(cf)  -> s                 with interval(s) containing cf, for every cf < 2^p
// push_symbol / pop_symbol code one symbol of a model on one lane; pop_symbol checks that
// the decoded symbol's interval contains cf, which is where an encoder/decoder disagreement
// (or a corrupt file) is caught.
//
// Combinators:
//   repeat(codec, n)          vector<S> of length n with one codec (lane 0)
//   interleave(n, model_at)   vector of n symbols, symbol i coded with model_at(i) on lane
//                             i mod lanes: the lanes give independent dependency chains
//   sequence(a, b)            pair<A, B>
//   bb_ans(prior, likelihood, posterior)
//                             bits-back coding of x with latent z, written once for all models
// All of them push in reverse and pop forward, so a composite pops in the order it was given.
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec/message.hpp"

namespace bbans::codec {

struct Interval {
    std::uint32_t start;
    std::uint32_t freq;
    friend bool operator==(const Interval&, const Interval&) = default;
};

template <class M>
concept SymbolModel = requires(const M& m, const typename M::symbol_type& s, std::uint32_t cf) {
    typename M::symbol_type;
    { m.precision() } -> std::convertible_to<unsigned>;
    { m.interval(s) } -> std::same_as<Interval>;
    { m.symbol(cf) } -> std::same_as<typename M::symbol_type>;
};

// Optional: a model whose search for cf finds the symbol's interval on the way can offer
// lookup(cf) -> {symbol, interval}; pop_symbol then skips recomputing the interval.
template <class M>
struct Lookup {
    typename M::symbol_type symbol;
    Interval interval;
};
template <class M>
concept LookupModel = SymbolModel<M> && requires(const M& m, std::uint32_t cf) {
    { m.lookup(cf) } -> std::same_as<Lookup<M>>;
};

template <class C, class S>
concept CodecFor = requires(const C& c, Message& m, const S& s) {
    { c.push(m, s) } -> std::same_as<void>;
    { c.pop(m) } -> std::convertible_to<S>;
};

template <SymbolModel M>
inline void push_symbol(Message& msg, std::size_t lane, const M& model, const typename M::symbol_type& s) {
    const Interval iv = model.interval(s);
    msg.push(lane, iv.start, iv.freq, model.precision());
}

template <SymbolModel M>
inline typename M::symbol_type pop_symbol(Message& msg, std::size_t lane, const M& model) {
    const unsigned prec = model.precision();
    const std::uint32_t cf = msg.peek(lane, prec);
    if constexpr (LookupModel<M>) {
        const Lookup<M> found = model.lookup(cf);
        msg.pop(lane, found.interval.start, found.interval.freq, prec);  // checks start <= cf < start + freq
        return found.symbol;
    } else {
        typename M::symbol_type s = model.symbol(cf);
        const Interval iv = model.interval(s);
        msg.pop(lane, iv.start, iv.freq, prec);  // checks start <= cf < start + freq
        return s;
    }
}

// A symbol model used as a codec on one lane.
template <SymbolModel M>
struct Primitive {
    using symbol_type = typename M::symbol_type;
    M model;
    std::size_t lane = 0;
    void push(Message& m, const symbol_type& s) const { push_symbol(m, lane, model, s); }
    symbol_type pop(Message& m) const { return pop_symbol(m, lane, model); }
};

template <SymbolModel M>
Primitive<M> primitive(M model, std::size_t lane = 0) {
    return Primitive<M>{std::move(model), lane};
}

// n symbols with the same codec.
template <class C>
struct Repeat {
    using element_type = std::remove_cvref_t<decltype(std::declval<const C&>().pop(std::declval<Message&>()))>;
    using symbol_type = std::vector<element_type>;
    C codec;
    std::size_t n;
    void push(Message& m, const symbol_type& xs) const {
        if (xs.size() != n) {
            m.fail(MessageStatus::bad_interval);
            return;
        }
        for (std::size_t i = n; i-- > 0;) codec.push(m, xs[i]);
    }
    symbol_type pop(Message& m) const {
        symbol_type xs;
        xs.reserve(n);
        for (std::size_t i = 0; i < n; ++i) xs.push_back(codec.pop(m));
        return xs;
    }
};

template <class C>
Repeat<C> repeat(C codec, std::size_t n) {
    return Repeat<C>{std::move(codec), n};
}

// n symbols, symbol i with its own model model_at(i), on lane i mod lanes.
template <class F>
struct Interleave {
    using model_type = std::remove_cvref_t<std::invoke_result_t<const F&, std::size_t>>;
    using element_type = typename model_type::symbol_type;
    using symbol_type = std::vector<element_type>;
    std::size_t n;
    F model_at;
    void push(Message& m, const symbol_type& xs) const {
        if (xs.size() != n) {
            m.fail(MessageStatus::bad_interval);
            return;
        }
        const std::size_t lanes = m.lanes();
        for (std::size_t i = n; i-- > 0;) push_symbol(m, i % lanes, model_at(i), xs[i]);
    }
    symbol_type pop(Message& m) const {
        symbol_type xs(n);
        const std::size_t lanes = m.lanes();
        for (std::size_t i = 0; i < n; ++i) xs[i] = pop_symbol(m, i % lanes, model_at(i));
        return xs;
    }
};

template <class F>
Interleave<F> interleave(std::size_t n, F model_at) {
    return Interleave<F>{n, std::move(model_at)};
}

// A pair: a is popped first, so it is pushed last.
template <class A, class B>
struct Sequence {
    using first_type = std::remove_cvref_t<decltype(std::declval<const A&>().pop(std::declval<Message&>()))>;
    using second_type = std::remove_cvref_t<decltype(std::declval<const B&>().pop(std::declval<Message&>()))>;
    using symbol_type = std::pair<first_type, second_type>;
    A a;
    B b;
    void push(Message& m, const symbol_type& s) const {
        b.push(m, s.second);
        a.push(m, s.first);
    }
    symbol_type pop(Message& m) const {
        first_type x = a.pop(m);
        second_type y = b.pop(m);
        return {std::move(x), std::move(y)};
    }
};

template <class A, class B>
Sequence<A, B> sequence(A a, B b) {
    return Sequence<A, B>{std::move(a), std::move(b)};
}

// Bits-back coding with a latent variable.
//   prior:       codec for z                          (p(z))
//   likelihood:  z -> codec for x                     (p(x | z))
//   posterior:   x -> codec for z                     (q(z | x))
// push(x): pop z with q(z|x) (reads bits already on the message: the bits back),
//          push x with p(x|z), push z with p(z).
// pop():   the exact mirror: pop z with p(z), pop x with p(x|z), push z with q(z|x).
// Net cost: -log2 p(x|z) - log2 p(z) + log2 q(z|x), the (discretized) negative ELBO.
template <class Prior, class Likelihood, class Posterior>
struct BBAns {
    Prior prior;
    Likelihood likelihood;
    Posterior posterior;

    using latent_type = std::remove_cvref_t<decltype(std::declval<const Prior&>().pop(std::declval<Message&>()))>;
    using codec_x = std::remove_cvref_t<std::invoke_result_t<const Likelihood&, const latent_type&>>;
    using symbol_type = std::remove_cvref_t<decltype(std::declval<const codec_x&>().pop(std::declval<Message&>()))>;

    void push(Message& m, const symbol_type& x) const {
        const latent_type z = posterior(x).pop(m);
        likelihood(z).push(m, x);
        prior.push(m, z);
    }
    symbol_type pop(Message& m) const {
        const latent_type z = prior.pop(m);
        symbol_type x = likelihood(z).pop(m);
        posterior(x).push(m, z);
        return x;
    }
};

template <class Prior, class Likelihood, class Posterior>
BBAns<Prior, Likelihood, Posterior> bb_ans(Prior prior, Likelihood likelihood, Posterior posterior) {
    return {std::move(prior), std::move(likelihood), std::move(posterior)};
}

}  // namespace bbans::codec
