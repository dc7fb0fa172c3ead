#include "src/report/reference_codecs.hpp"

#include <png.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "src/io/png.hpp"

#if BBANS_HAVE_WEBP
#include <webp/decode.h>
#include <webp/encode.h>
#endif
#if BBANS_HAVE_JXL
#include <jxl/decode.h>
#include <jxl/decode_cxx.h>
#include <jxl/encode.h>
#include <jxl/encode_cxx.h>
#endif

namespace bbans::report {

namespace {

using Bytes = std::vector<std::uint8_t>;

std::uint64_t sample_count(io::Shape s) { return std::uint64_t{s.rows} * s.cols * s.channels; }

Status check_input(std::span<const std::uint8_t> samples, io::Shape shape) {
    if (shape.rows == 0 || shape.cols == 0 || shape.channels < 1 || shape.channels > 4)
        return make_error("internal error: an image needs rows, cols and 1..4 channels");
    if (samples.size() != sample_count(shape)) return make_error("internal error: the samples do not fill the image");
    return Ok{};
}

// "1.2.4" from a version packed as major * f^2 + minor * f + patch.
[[maybe_unused]] std::string version_text(std::uint32_t v, std::uint32_t f) {  // (unused without libwebp and libjxl)
    return std::to_string(v / (f * f)) + '.' + std::to_string(v / f % f) + '.' + std::to_string(v % f);
}

// ---- PNG ----------------------------------------------------------------------------------------

// io::write_png at zlib level 9 with libpng's adaptive choice among all five row filters (its
// default for 8-bit images), no ancillary chunks; decoded by io::read_png.
class PngCodec final : public ReferenceCodec {
public:
    std::string key() const override { return "png"; }
    std::string name() const override { return "PNG"; }
    std::string settings() const override {
        return std::string("libpng ") + png_get_libpng_ver(nullptr) + ", zlib level 9, adaptive filters, no ancillary chunks";
    }
    Expected<Bytes> encode(std::span<const std::uint8_t> samples, io::Shape shape) const override {
        if (auto ok = check_input(samples, shape); !ok) return ok.error();
        io::PngAttributes a;
        a.width = shape.cols;
        a.height = shape.rows;
        a.bit_depth = 8;
        static constexpr std::uint8_t kColourType[5] = {0, 0, 4, 2, 6};  // grey, grey+alpha, RGB, RGBA
        a.color_type = kColourType[shape.channels];
        return io::write_png(samples, a);
    }
    Expected<Bytes> decode(std::span<const std::uint8_t> file, io::Shape shape) const override {
        auto png = io::read_png(file);
        if (!png) return png.error();
        if (png->image.shape() != shape || png->image.count != 1) return make_error("the PNG decodes to another shape");
        return std::move(png->image.pixels);
    }
};

// ---- WebP ---------------------------------------------------------------------------------------
#if BBANS_HAVE_WEBP

// Lossless at preset 9 (cwebp -lossless -z 9), with `exact` set so that the RGB of fully
// transparent pixels is kept (cwebp -exact; without it the pixels would not come back). Grey is
// given as R = G = B, grey+alpha as RGBA; one thread.
class WebpCodec final : public ReferenceCodec {
public:
    std::string key() const override { return "webp"; }
    std::string name() const override { return "WebP"; }
    std::string settings() const override {
        return "libwebp " + version_text(static_cast<std::uint32_t>(WebPGetEncoderVersion()), 256) +
               ", lossless, WebPConfigLosslessPreset 9 (cwebp -lossless -z 9), exact";
    }
    Expected<Bytes> encode(std::span<const std::uint8_t> samples, io::Shape shape) const override {
        if (auto ok = check_input(samples, shape); !ok) return ok.error();
        if (shape.rows > WEBP_MAX_DIMENSION || shape.cols > WEBP_MAX_DIMENSION)
            return make_error("WebP images are at most " + std::to_string(WEBP_MAX_DIMENSION) + " pixels a side");
        WebPConfig config;
        if (!WebPConfigInit(&config) || !WebPConfigLosslessPreset(&config, 9)) return make_error("libwebp: cannot set up the encoder");
        config.exact = 1;
        config.thread_level = 0;
        if (!WebPValidateConfig(&config)) return make_error("libwebp: invalid configuration");
        const bool alpha = shape.channels % 2 == 0;
        const std::size_t pixels = std::size_t{shape.rows} * shape.cols;
        Bytes wide;  // grey (and grey+alpha) spread to RGB (RGBA)
        const std::uint8_t* rgb = samples.data();
        if (shape.channels <= 2) {
            const std::size_t out_ch = alpha ? 4 : 3;
            wide.resize(pixels * out_ch);
            for (std::size_t i = 0; i < pixels; ++i) {
                const std::uint8_t* s = samples.data() + i * shape.channels;
                std::uint8_t* d = wide.data() + i * out_ch;
                d[0] = d[1] = d[2] = s[0];
                if (alpha) d[3] = s[1];
            }
            rgb = wide.data();
        }
        WebPPicture picture;
        if (!WebPPictureInit(&picture)) return make_error("libwebp: cannot set up a picture");
        picture.use_argb = 1;
        picture.width = static_cast<int>(shape.cols);
        picture.height = static_cast<int>(shape.rows);
        WebPMemoryWriter writer;
        WebPMemoryWriterInit(&writer);
        picture.writer = WebPMemoryWrite;
        picture.custom_ptr = &writer;
        const int stride = static_cast<int>(shape.cols * (alpha ? 4 : 3));
        const int imported = alpha ? WebPPictureImportRGBA(&picture, rgb, stride) : WebPPictureImportRGB(&picture, rgb, stride);
        const int encoded = imported && WebPEncode(&config, &picture);
        const int error = picture.error_code;
        WebPPictureFree(&picture);
        Bytes out;
        if (encoded) out.assign(writer.mem, writer.mem + writer.size);
        WebPMemoryWriterClear(&writer);
        if (!imported) return make_error("libwebp: cannot import the pixels (out of memory?)");
        if (!encoded) return make_error("libwebp: encoding failed (error " + std::to_string(error) + ")");
        return out;
    }
    Expected<Bytes> decode(std::span<const std::uint8_t> file, io::Shape shape) const override {
        int w = 0, h = 0;
        std::uint8_t* rgba = WebPDecodeRGBA(file.data(), file.size(), &w, &h);
        if (!rgba) return make_error("libwebp cannot decode the file it wrote");
        const bool same_size = static_cast<std::uint32_t>(w) == shape.cols && static_cast<std::uint32_t>(h) == shape.rows;
        const std::size_t pixels = same_size ? std::size_t{shape.rows} * shape.cols : 0;
        Bytes out(pixels * shape.channels);
        bool representable = true;
        for (std::size_t i = 0; i < pixels; ++i) {
            const std::uint8_t* p = rgba + 4 * i;
            std::uint8_t* d = out.data() + i * shape.channels;
            if (shape.channels <= 2) {
                representable = representable && p[1] == p[0] && p[2] == p[0];
                d[0] = p[0];
            } else {
                d[0] = p[0], d[1] = p[1], d[2] = p[2];
            }
            if (shape.channels % 2 == 0) d[shape.channels - 1] = p[3];
            else representable = representable && p[3] == 255;
        }
        WebPFree(rgba);
        if (!same_size) return make_error("the WebP file decodes to another size");
        if (!representable) return make_error("the WebP file decodes to colour or transparency the image does not have");
        return out;
    }
};
#endif

// ---- JPEG XL ------------------------------------------------------------------------------------
#if BBANS_HAVE_JXL

// Lossless (JxlEncoderSetFrameLossless, distance 0) with the original colour profile (sRGB,
// grey for grey images), alpha as JPEG XL's alpha channel, effort as cjxl's -e; one thread;
// a bare codestream (no container), as cjxl writes without metadata.
class JxlCodec final : public ReferenceCodec {
public:
    explicit JxlCodec(int effort) : effort_(effort) {}
    std::string key() const override { return "jxl"; }
    std::string name() const override { return "JPEG XL"; }
    std::string settings() const override {
        return "libjxl " + version_text(JxlEncoderVersion(), 1000) + ", lossless (distance 0), effort " + std::to_string(effort_);
    }
    Expected<Bytes> encode(std::span<const std::uint8_t> samples, io::Shape shape) const override {
        if (auto ok = check_input(samples, shape); !ok) return ok.error();
        const bool grey = shape.channels <= 2, alpha = shape.channels % 2 == 0;
        JxlEncoderPtr enc = JxlEncoderMake(nullptr);
        if (!enc) return make_error("libjxl: cannot create an encoder");
        auto failed = [&](const char* what) {
            return make_error(std::string("libjxl: ") + what + " failed (error " + std::to_string(static_cast<int>(JxlEncoderGetError(enc.get()))) + ")");
        };
        JxlBasicInfo info;
        JxlEncoderInitBasicInfo(&info);
        info.xsize = shape.cols;
        info.ysize = shape.rows;
        info.bits_per_sample = 8;
        info.exponent_bits_per_sample = 0;
        info.num_color_channels = grey ? 1 : 3;
        info.num_extra_channels = alpha ? 1 : 0;
        info.alpha_bits = alpha ? 8 : 0;
        info.uses_original_profile = JXL_TRUE;
        if (JxlEncoderSetBasicInfo(enc.get(), &info) != JXL_ENC_SUCCESS) return failed("JxlEncoderSetBasicInfo");
        JxlColorEncoding colour;
        JxlColorEncodingSetToSRGB(&colour, grey ? JXL_TRUE : JXL_FALSE);
        if (JxlEncoderSetColorEncoding(enc.get(), &colour) != JXL_ENC_SUCCESS) return failed("JxlEncoderSetColorEncoding");
        JxlEncoderFrameSettings* frame = JxlEncoderFrameSettingsCreate(enc.get(), nullptr);
        if (!frame) return failed("JxlEncoderFrameSettingsCreate");
        if (JxlEncoderSetFrameLossless(frame, JXL_TRUE) != JXL_ENC_SUCCESS) return failed("JxlEncoderSetFrameLossless");
        if (JxlEncoderSetFrameDistance(frame, 0) != JXL_ENC_SUCCESS) return failed("JxlEncoderSetFrameDistance");
        if (JxlEncoderFrameSettingsSetOption(frame, JXL_ENC_FRAME_SETTING_EFFORT, effort_) != JXL_ENC_SUCCESS)
            return failed("setting the effort");
        const JxlPixelFormat format{shape.channels, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
        if (JxlEncoderAddImageFrame(frame, &format, samples.data(), samples.size()) != JXL_ENC_SUCCESS)
            return failed("JxlEncoderAddImageFrame");
        JxlEncoderCloseInput(enc.get());
        Bytes out(std::max<std::size_t>(4096, samples.size() / 4));
        std::size_t used = 0;
        for (;;) {
            std::uint8_t* next = out.data() + used;
            std::size_t avail = out.size() - used;
            const JxlEncoderStatus st = JxlEncoderProcessOutput(enc.get(), &next, &avail);
            used = static_cast<std::size_t>(next - out.data());
            if (st == JXL_ENC_SUCCESS) break;
            if (st != JXL_ENC_NEED_MORE_OUTPUT) return failed("JxlEncoderProcessOutput");
            out.resize(out.size() * 2);
        }
        out.resize(used);
        return out;
    }
    Expected<Bytes> decode(std::span<const std::uint8_t> file, io::Shape shape) const override {
        // (Checked first: libjxl's decoder prints a line on bad signatures.)
        const JxlSignature sig = JxlSignatureCheck(file.data(), file.size());
        if (sig != JXL_SIG_CODESTREAM && sig != JXL_SIG_CONTAINER) return make_error("not a JPEG XL file");
        JxlDecoderPtr dec = JxlDecoderMake(nullptr);
        if (!dec) return make_error("libjxl: cannot create a decoder");
        if (JxlDecoderSubscribeEvents(dec.get(), JXL_DEC_BASIC_INFO | JXL_DEC_FULL_IMAGE) != JXL_DEC_SUCCESS)
            return make_error("libjxl: cannot subscribe to decoder events");
        if (JxlDecoderSetInput(dec.get(), file.data(), file.size()) != JXL_DEC_SUCCESS) return make_error("libjxl: cannot set the input");
        JxlDecoderCloseInput(dec.get());
        const JxlPixelFormat format{shape.channels, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
        Bytes out;
        bool have_image = false;
        for (;;) {
            const JxlDecoderStatus st = JxlDecoderProcessInput(dec.get());
            if (st == JXL_DEC_SUCCESS) break;
            if (st == JXL_DEC_ERROR) return make_error("libjxl cannot decode the file it wrote");
            if (st == JXL_DEC_NEED_MORE_INPUT) return make_error("libjxl: the file it wrote is truncated");
            if (st == JXL_DEC_BASIC_INFO) {
                JxlBasicInfo info;
                if (JxlDecoderGetBasicInfo(dec.get(), &info) != JXL_DEC_SUCCESS) return make_error("libjxl: no basic info");
                const bool alpha = shape.channels % 2 == 0;
                if (info.xsize != shape.cols || info.ysize != shape.rows || info.num_color_channels != (shape.channels <= 2 ? 1u : 3u) ||
                    (info.alpha_bits > 0) != alpha || info.bits_per_sample != 8)
                    return make_error("the JPEG XL file has another size or other channels");
            } else if (st == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
                std::size_t size = 0;
                if (JxlDecoderImageOutBufferSize(dec.get(), &format, &size) != JXL_DEC_SUCCESS || size != sample_count(shape))
                    return make_error("libjxl: unexpected image buffer size");
                out.assign(size, 0);
                if (JxlDecoderSetImageOutBuffer(dec.get(), &format, out.data(), out.size()) != JXL_DEC_SUCCESS)
                    return make_error("libjxl: cannot set the image buffer");
            } else if (st == JXL_DEC_FULL_IMAGE) {
                have_image = true;
            }
        }
        if (!have_image) return make_error("the JPEG XL file has no image");
        return out;
    }

private:
    int effort_;
};
#endif

}  // namespace

Expected<ReferenceResult> encode_checked(const ReferenceCodec& codec, const io::ImageSet& images) {
    ReferenceResult r;
    const io::Shape shape = images.shape();
    for (std::size_t i = 0; i < images.count; ++i) {
        const std::string which = images.count > 1 ? "image " + std::to_string(i) + ": " : std::string();
        const auto samples = images.image(i);
        const auto t = std::chrono::steady_clock::now();
        auto file = codec.encode(samples, shape);
        r.encode_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
        if (!file) return make_error(which + file.error().message);
        auto back = codec.decode(*file, shape);
        if (!back) return make_error(which + back.error().message);
        if (!std::equal(back->begin(), back->end(), samples.begin(), samples.end()))
            return make_error(which + "the " + codec.name() + " file decodes to other pixels (not lossless)");
        r.bytes += file->size();
    }
    return r;
}

Expected<std::vector<std::unique_ptr<ReferenceCodec>>> reference_codecs(const ReferenceOptions& options) {
    if (options.jxl_effort < 1 || options.jxl_effort > 9) return make_error("the JPEG XL effort must be 1..9");
    std::vector<std::unique_ptr<ReferenceCodec>> codecs;
    codecs.push_back(std::make_unique<PngCodec>());
#if BBANS_HAVE_WEBP
    codecs.push_back(std::make_unique<WebpCodec>());
#endif
#if BBANS_HAVE_JXL
    codecs.push_back(std::make_unique<JxlCodec>(options.jxl_effort));
#endif
    return codecs;
}

std::vector<std::string> missing_reference_codecs() {
    std::vector<std::string> missing;
#if !BBANS_HAVE_WEBP
    missing.push_back("WebP (libwebp-dev was not found at build time)");
#endif
#if !BBANS_HAVE_JXL
    missing.push_back("JPEG XL (libjxl-dev was not found at build time)");
#endif
    return missing;
}

std::string reference_codecs_line() {
    std::string line = std::string("PNG (libpng ") + png_get_libpng_ver(nullptr) + ")";
#if BBANS_HAVE_WEBP
    line += ", WebP (libwebp " + version_text(static_cast<std::uint32_t>(WebPGetEncoderVersion()), 256) + ")";
#endif
#if BBANS_HAVE_JXL
    line += ", JPEG XL (libjxl " + version_text(JxlEncoderVersion(), 1000) + ")";
#endif
    const auto missing = missing_reference_codecs();
    for (std::size_t i = 0; i < missing.size(); ++i) line += (i == 0 ? "; not compiled in: " : ", ") + missing[i];
    return line;
}

}  // namespace bbans::report
