// load_images: a corpus from a file or a directory tree of single-image files.
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

std::string shape_text(const ImageSet& s) {
    return std::to_string(s.rows) + " rows x " + std::to_string(s.cols) + " cols x " + std::to_string(s.channels) +
           (s.channels == 1 ? " channel" : " channels");
}

bool is_image_name(const fs::path& name) {
    std::string ext = name.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    // Dot files are skipped: editors' and write_file_atomic's temporaries look like that.
    return (ext == ".pgm" || ext == ".ppm" || ext == ".png") && name.filename().string().front() != '.';
}

// The image files of a directory and its subdirectories (symbolic links to directories are not
// followed; dot directories are skipped), sorted by relative path so that the order, and
// therefore every compressed file, is the same on every machine.
Expected<std::vector<fs::path>> list_image_files(const fs::path& dir) {
    std::vector<std::pair<std::string, fs::path>> files;
    std::error_code ec;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        std::error_code type_ec;
        const std::string name = it->path().filename().string();
        if (it->is_directory(type_ec) && !name.empty() && name.front() == '.') {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file(type_ec) && is_image_name(it->path().filename()))
            files.emplace_back(it->path().lexically_relative(dir).generic_string(), it->path());
    }
    if (ec) return make_error(dir.string() + ": cannot list the directory: " + ec.message());
    if (files.empty()) return make_error(dir.string() + ": no .pgm, .ppm or .png files in the directory");
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<fs::path> paths;
    for (auto& f : files) paths.push_back(std::move(f.second));
    return paths;
}

// One image from a directory entry: by content, which must agree with being a PGM, PPM or PNG.
Expected<ImageSet> load_single_image(const fs::path& file) {
    auto bytes = read_file(file);
    if (!bytes) return bytes.error();
    const Format format = detect_format(*bytes);
    if (format != Format::pgm && format != Format::ppm && format != Format::png)
        return make_error(file.string() + ": not a PGM, PPM or PNG file (content looks like " + format_name(format) + ")");
    auto image = format == Format::pgm ? parse_pgm(*bytes) : format == Format::ppm ? parse_ppm(*bytes) : parse_png(*bytes);
    if (!image) return at(file, image.error());
    return image;
}

Expected<ImageSet> load_directory(const fs::path& dir) {
    auto files = list_image_files(dir);
    if (!files) return files.error();
    auto first = load_single_image(files->front());
    if (!first) return first.error();
    ImageSet set = std::move(*first);
    const auto total = detail::checked_mul(files->size(), set.samples_per_image());
    if (!total || *total > kMaxInputBytes)
        return make_error(dir.string() + ": " + std::to_string(files->size()) + " images of " +
                          shape_text(set) + " exceed the limit of " + std::to_string(kMaxInputBytes) + " bytes");
    set.pixels.reserve(static_cast<std::size_t>(*total));
    for (std::size_t i = 1; i < files->size(); ++i) {
        const fs::path& file = (*files)[i];
        auto image = load_single_image(file);
        if (!image) return image.error();
        if (image->shape() != set.shape() || image->channels != set.channels)
            return make_error(file.string() + ": image is " + shape_text(*image) + " but " +
                              files->front().lexically_relative(dir).generic_string() + " (the first) is " + shape_text(set));
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
