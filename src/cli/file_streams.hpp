#pragma once
// Files as the archive code's inputs and outputs (src/archive/stream.hpp): an input file read
// with pread at any offset (so chunks are read by the threads that code them, and memory stays
// bounded by the chunks in flight), an output file that appears only when complete, standard
// output, and a sink that only counts (bbans decompress -t).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "bbans/files.hpp"
#include "src/archive/format.hpp"
#include "src/archive/stream.hpp"

namespace bbans::cli {

class FileInput final : public archive::Input {
public:
    // A regular file, opened for reading; its size is taken now.
    static Expected<std::unique_ptr<FileInput>> open(const std::filesystem::path& path) {
        const std::string name = path.string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            const int err = errno;
            return make_error(name + (err == ENOENT ? ": no such file" : ": cannot open: " + std::string(std::strerror(err))));
        }
        std::unique_ptr<FileInput> f(new FileInput(fd, name));
        struct stat st{};
        if (::fstat(fd, &st) != 0) return make_error(name + ": cannot stat: " + std::strerror(errno));
        if (S_ISDIR(st.st_mode)) return make_error(name + ": is a directory, not a file");
        if (!S_ISREG(st.st_mode)) return make_error(name + ": not a regular file");
        f->size_ = static_cast<std::uint64_t>(st.st_size);
        f->stat_ = st;
        return f;
    }
    ~FileInput() override { ::close(fd_); }
    std::uint64_t size() const override { return size_; }
    const struct stat& stat() const { return stat_; }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override {
        while (!out.empty()) {
            const ssize_t n = ::pread(fd_, out.data(), std::min<std::size_t>(out.size(), std::size_t{1} << 30), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return make_error(name_ + ": read error: " + std::strerror(errno));
            if (n == 0) return make_error(name_ + ": the file became shorter while it was read");
            out = out.subspan(static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
        return Ok{};
    }

private:
    FileInput(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    int fd_;
    std::string name_;
    std::uint64_t size_ = 0;
    struct stat stat_{};
};

// Bytes held in memory (standard input, read whole).
class OwnedInput final : public archive::Input {
public:
    explicit OwnedInput(std::vector<std::uint8_t> bytes) : bytes_(std::move(bytes)), view_(bytes_) {}
    std::uint64_t size() const override { return view_.size(); }
    Status read_at(std::uint64_t offset, std::span<std::uint8_t> out) const override { return view_.read_at(offset, out); }

private:
    std::vector<std::uint8_t> bytes_;
    archive::MemoryInput view_;
};

// A command's input: a file (read where needed), or "-", standard input read whole (up to the
// loaders' 4 GiB).
inline Expected<std::unique_ptr<archive::Input>> open_input(const std::string& path) {
    if (path == "-") {
        auto bytes = files::read_file("/dev/stdin", std::uint64_t{4} << 30);
        if (!bytes) return bytes.error();
        return std::unique_ptr<archive::Input>(std::make_unique<OwnedInput>(std::move(*bytes)));
    }
    auto file = FileInput::open(path);
    if (!file) return file.error();
    return std::unique_ptr<archive::Input>(std::move(*file));
}

class AtomicOutput final : public archive::Output {
public:
    explicit AtomicOutput(files::AtomicFile file) : file_(std::move(file)) {}
    Status write(std::span<const std::uint8_t> bytes) override { return file_.write(bytes); }
    files::AtomicFile& file() { return file_; }
    // Renames the file into place with an archive entry's permission bits and time, if recorded.
    Status commit(const archive::Entry& e) {
        const ::mode_t mode = e.mode;
        const ::timespec mtime{static_cast<time_t>(e.mtime_sec), static_cast<long>(e.mtime_nsec)};
        return file_.commit(e.has_metadata ? &mode : nullptr, e.has_metadata ? &mtime : nullptr);
    }

private:
    files::AtomicFile file_;
};

class StdoutOutput final : public archive::Output {
public:
    Status write(std::span<const std::uint8_t> bytes) override {
        while (!bytes.empty()) {
            const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return make_error(std::string("standard output: write error: ") + std::strerror(errno));
            bytes = bytes.subspan(static_cast<std::size_t>(n));
        }
        return Ok{};
    }
};

class NullOutput final : public archive::Output {
public:
    Status write(std::span<const std::uint8_t> bytes) override {
        count_ += bytes.size();
        return Ok{};
    }
    std::uint64_t count() const { return count_; }

private:
    std::uint64_t count_ = 0;
};

}  // namespace bbans::cli
