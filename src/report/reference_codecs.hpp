#pragma once
// The reference codecs of `bbans report` on folders, run in this process on an image's samples:
// PNG (libpng, always), WebP lossless (libwebp) and JPEG XL lossless (libjxl). WebP and JPEG XL
// are optional build dependencies (found with pkg-config; see src/CMakeLists.txt): a build
// without them lists them in missing_reference_codecs() and never reports their figures.
//
// Every figure the report prints comes from encode_checked: the file is decoded again and its
// pixels compared with the input's, so a codec that does not round-trip gives an Error, never
// a number.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"
#include "src/io/images.hpp"

namespace bbans::report {

class ReferenceCodec {
public:
    virtual ~ReferenceCodec() = default;
    // "png", "webp", "jxl": the key in the report's JSON.
    virtual std::string key() const = 0;
    // What the table prints: "PNG", "WebP", "JPEG XL".
    virtual std::string name() const = 0;
    // How it was run, with the library's version found at run time:
    // "libwebp 1.2.4, lossless, WebPConfigLosslessPreset 9 (cwebp -lossless -z 9), exact".
    virtual std::string settings() const = 0;
    // One image (shape.rows x shape.cols pixels of shape.channels interleaved 8-bit samples,
    // 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA) as a file of this format.
    virtual Expected<std::vector<std::uint8_t>> encode(std::span<const std::uint8_t> samples, io::Shape shape) const = 0;
    // A file back to samples of `shape`; an Error if it is not a valid file of that shape (for
    // a grey image: a decoded colour pixel; without alpha: a pixel that is not opaque).
    virtual Expected<std::vector<std::uint8_t>> decode(std::span<const std::uint8_t> file, io::Shape shape) const = 0;
};

struct ReferenceResult {
    std::uint64_t bytes = 0;  // the encoded files of all the set's images
    double encode_s = 0;      // their encoding time (decoding and checking not included)
};

// Every image of `images` encoded by `codec`, each decoded again and compared with its samples.
// An Error names the image (for a set of several) and what failed.
Expected<ReferenceResult> encode_checked(const ReferenceCodec& codec, const io::ImageSet& images);

struct ReferenceOptions {
    int jxl_effort = 7;  // JPEG XL encoder effort, 1..9 (cjxl's -e)
};

// PNG, then WebP and JPEG XL where compiled in. An Error if the options are out of range.
Expected<std::vector<std::unique_ptr<ReferenceCodec>>> reference_codecs(const ReferenceOptions& options = {});

// The codecs this build lacks, each with why: "WebP (libwebp-dev was not found at build time)".
std::vector<std::string> missing_reference_codecs();

// One line for --help and the report: "PNG (libpng 1.6.39), WebP (libwebp 1.2.4), JPEG XL
// (libjxl 0.7.0)", then "; not compiled in: ..." if any are missing.
std::string reference_codecs_line();

}  // namespace bbans::report
