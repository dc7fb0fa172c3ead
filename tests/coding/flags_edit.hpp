#pragma once
// Helpers of the model-option tests (head_skip_test.cpp, head_per_channel_test.cpp): editing a
// model payload's configuration flags, and float stand-ins for the integer decoder channels.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/serialize.hpp"

namespace bbans::test {

// The configuration's flags byte in a model payload: cereal's endianness byte, rows, cols,
// latent, encoder_hidden, encoder_layers, decoder_hidden, decoder_layers (u32 each), the
// likelihood (u8) and channels (u32) come before it (models/serialize.cpp).
inline constexpr std::size_t kFlagsAt = 1 + 7 * 4 + 1 + 4;

// The payload of a file, its flags byte changed by `edit`, wrapped again (a valid hash).
template <class Edit>
std::string with_flags(const std::string& file, std::string_view magic, Edit edit) {
    std::string payload(*models::unwrap_container(magic, file));
    payload[kFlagsAt] = static_cast<char>(edit(static_cast<std::uint8_t>(payload[kFlagsAt])));
    return models::wrap_container(magic, payload);
}

// Float channels standing for the integer ones (channel_frac), as the head's first C inputs.
inline std::vector<float> float_channels(const std::int16_t* ch, std::size_t C, std::int32_t frac) {
    std::vector<float> out(C);
    for (std::size_t k = 0; k < C; ++k) out[k] = static_cast<float>(std::ldexp(static_cast<double>(ch[k]), -frac));
    return out;
}

}  // namespace bbans::test
