// load_images: a corpus from a file or a directory of single-image files.
#include <algorithm>
#include <cctype>
#include <string>
#include <system_error>

#include "src/io/detail.hpp"
#include "src/io/files.hpp"
#include "src/io/images.hpp"

namespace bbans::io {
namespace fs = std::filesystem;
namespace {

Error at(const fs::path& path, const Error& error) { return make_error(path.string() + ": " + error.message); }

std::string shape_text(Shape s) { return std::to_string(s.rows) + " rows x " + std::to_string(s.cols) + " cols"; }

bool is_image_name(const fs::path& name) {
    std::string ext = name.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // Dot files are skipped: editors' and write_file_atomic's temporaries look like that.
    return (ext == ".pgm" || ext == ".png") && name.filename().string().front() != '.';
}

// The image files of a directory (not recursive), sorted by file name so that the order, and
// therefore every compressed file, is the same on every machine.
Expected<std::vector<fs::path>> list_image_files(const fs::path& dir) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        if (it->is_regular_file(type_ec) && is_image_name(it->path().filename())) files.push_back(it->path());
    }
    if (ec) return make_error(dir.string() + ": cannot list the directory: " + ec.message());
    if (files.empty()) return make_error(dir.string() + ": no .pgm or .png files in the directory");
    std::sort(files.begin(), files.end(),
              [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
    return files;
}

// One image from a directory entry: by content, which must agree with being a PGM or a PNG.
Expected<ImageSet> load_single_image(const fs::path& file) {
    auto bytes = read_file(file);
    if (!bytes) return bytes.error();
    const Format format = detect_format(*bytes);
    if (format != Format::pgm && format != Format::png)
        return make_error(file.string() + ": not a PGM or PNG file (content looks like " + format_name(format) + ")");
    auto image = format == Format::pgm ? parse_pgm(*bytes) : parse_png(*bytes);
    if (!image) return at(file, image.error());
    return image;
}

Expected<ImageSet> load_directory(const fs::path& dir) {
    auto files = list_image_files(dir);
    if (!files) return files.error();
    auto first = load_single_image(files->front());
    if (!first) return first.error();
    ImageSet set = std::move(*first);
    const auto total = detail::checked_mul(files->size(), set.pixels_per_image());
    if (!total || *total > kMaxInputBytes)
        return make_error(dir.string() + ": " + std::to_string(files->size()) + " images of " +
                          shape_text(set.shape()) + " exceed the limit of " + std::to_string(kMaxInputBytes) + " bytes");
    set.pixels.reserve(static_cast<std::size_t>(*total));
    for (std::size_t i = 1; i < files->size(); ++i) {
        const fs::path& file = (*files)[i];
        auto image = load_single_image(file);
        if (!image) return image.error();
        if (image->shape() != set.shape())
            return make_error(file.string() + ": image is " + shape_text(image->shape()) + " but " +
                              files->front().filename().string() + " (the first) is " + shape_text(set.shape()));
        set.pixels.insert(set.pixels.end(), image->pixels.begin(), image->pixels.end());
        ++set.count;
    }
    return set;
}

}  // namespace

Expected<std::vector<ImageSet>> load_image_list(const fs::path& path) {
    std::error_code ec;
    std::vector<ImageSet> out;
    if (!fs::is_directory(path, ec)) {
        auto one = load_images(path);
        if (!one) return one.error();
        out.push_back(std::move(*one));
        return out;
    }
    auto files = list_image_files(path);
    if (!files) return files.error();
    std::uint64_t total = 0;
    for (const fs::path& file : *files) {
        auto image = load_single_image(file);
        if (!image) return image.error();
        total += image->pixels.size();
        if (total > kMaxInputBytes)
            return make_error(path.string() + ": the images exceed the limit of " + std::to_string(kMaxInputBytes) + " bytes");
        out.push_back(std::move(*image));
    }
    return out;
}

Expected<ImageSet> load_images(const fs::path& path, std::optional<Shape> raw_shape) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (raw_shape) return make_error(path.string() + ": a raw shape was given but this is a directory");
        return load_directory(path);
    }
    auto bytes = read_file(path);
    if (!bytes) return bytes.error();
    auto images = parse_images(*bytes, raw_shape);
    if (!images) return at(path, images.error());
    return images;
}

}  // namespace bbans::io
