#pragma once
// Whole-file reads with clear errors, and atomic writes: the one implementation of file access
// for src/ (the CLI, reports, model cards) and models/ (model files, checkpoints). Header-only,
// so that both layers can use it without depending on each other; codec/ never touches files.
// POSIX calls rather than iostreams, since they report why they failed (errno).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <span>
#include <string>
#include <vector>

#include "bbans/expected.hpp"

namespace bbans::files {

// The whole file. Errors name the path and say why: missing, a directory, unreadable (with the
// system's reason), or larger than max_bytes.
inline Expected<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path, std::uint64_t max_bytes);

// Writes bytes to a temporary file in path's directory, fsyncs it, then renames it over path
// (and fsyncs the directory), so readers see the old file or the new one, never a partial one.
// Without overwrite, an existing path is an error and is left untouched (checked atomically at
// the rename, not only before). On any failure the temporary file is removed. The temporary
// file's name is new (".NAME.tmp-PID-N", created with O_EXCL): no other file is ever touched.
inline Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool overwrite);

namespace detail {

inline std::string display(const std::filesystem::path& path) { return path.string(); }

inline std::string system_reason(int err) { return std::strerror(err); }

// Closes a file descriptor on every path out of a function.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    // close() can report a late write error, so writers call this rather than the destructor.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

private:
    int fd_;
};

}  // namespace detail

inline Expected<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path, std::uint64_t max_bytes) {
    using namespace detail;
    const std::string name = display(path);
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
        const int err = errno;
        if (err == ENOENT) return make_error(name + ": no such file");
        return make_error(name + ": cannot open: " + system_reason(err));
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return make_error(name + ": cannot stat: " + system_reason(errno));
    if (S_ISDIR(st.st_mode)) return make_error(name + ": is a directory, not a file");
    if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_bytes)
        return make_error(name + ": file is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                          std::to_string(max_bytes));

    // Read until end of file rather than trusting st_size (pipes and /proc files report 0, and
    // a file may grow): fill the expected size in place, then probe for more in small chunks.
    try {
        std::vector<std::uint8_t> bytes(S_ISREG(st.st_mode) ? static_cast<std::size_t>(st.st_size) : 0);
        std::size_t got = 0;
        std::vector<std::uint8_t> chunk(65536);
        for (;;) {
            const bool in_place = got < bytes.size();
            std::uint8_t* dest = in_place ? bytes.data() + got : chunk.data();
            const std::size_t room = in_place ? bytes.size() - got : chunk.size();
            const ssize_t n = ::read(fd.get(), dest, room);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return make_error(name + ": read error: " + system_reason(errno));
            if (n == 0) break;
            if (!in_place) bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
            got += static_cast<std::size_t>(n);
            if (got > max_bytes)
                return make_error(name + ": file is more than the limit of " + std::to_string(max_bytes) + " bytes");
        }
        bytes.resize(got);
        return bytes;
    } catch (const std::bad_alloc&) {
        return make_error(name + ": not enough memory to read it");
    }
}

namespace detail {

inline std::filesystem::path directory_of(const std::filesystem::path& path) {
    const auto parent = path.parent_path();
    return parent.empty() ? std::filesystem::path(".") : parent;
}

// A new, empty file next to the target, named so that concurrent writers (threads or
// processes) never collide. O_EXCL makes a collision an error instead of a shared file, and the
// mode 0666 (less umask) gives the final file the permissions a plain create would.
inline Expected<int> create_temp_next_to(const std::filesystem::path& target, std::filesystem::path& temp) {
    static std::atomic<unsigned> counter{0};
    // Built with += because GCC 12 reports a false -Wrestrict positive for `"." + std::string`.
    // A long name would push the temporary one past the 255-byte limit of a file name: such
    // targets get a short temporary name instead.
    std::string stem = ".";
    const std::string base = target.filename().string();
    stem += base.size() <= 200 ? base : std::string("bbans");
    stem += ".tmp-" + std::to_string(::getpid()) + "-";
    for (int attempt = 0; attempt < 100; ++attempt) {
        temp = directory_of(target) / (stem + std::to_string(counter.fetch_add(1)));
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST) return make_error(display(target) + ": cannot create a temporary file in " +
                                               display(directory_of(target)) + ": " + system_reason(errno));
    }
    return make_error(display(target) + ": cannot find a free temporary file name");
}

inline Status write_all(int fd, std::span<const std::uint8_t> bytes, const std::string& name) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), std::min<std::size_t>(bytes.size(), std::size_t{1} << 30));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return make_error(name + ": write error: " + system_reason(errno));
        bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return Ok{};
}

// Moves temp to target. Without overwrite, renameat2(RENAME_NOREPLACE) refuses atomically if
// target exists; filesystems without it get link()+unlink(), which is just as atomic.
inline Status move_into_place(const std::filesystem::path& temp, const std::filesystem::path& target, bool overwrite) {
    const std::string name = display(target);
    if (overwrite) {
        if (::rename(temp.c_str(), target.c_str()) == 0) return Ok{};
        return make_error(name + ": cannot replace: " + system_reason(errno));
    }
    int rc = ::renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
        rc = ::link(temp.c_str(), target.c_str());
        if (rc == 0) ::unlink(temp.c_str());
    }
    if (rc == 0) return Ok{};
    if (errno == EEXIST) return make_error(name + ": already exists (not overwritten)");
    return make_error(name + ": cannot create: " + system_reason(errno));
}

// After a rename, the new directory entry is durable only once the directory is synced.
inline void sync_directory(const std::filesystem::path& dir) {
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() >= 0) ::fsync(fd.get());  // best effort: some filesystems refuse, data is safe anyway
}

}  // namespace detail

// A file written in pieces that appears under its name only when complete: a temporary file
// next to the target, renamed over it by commit() (with the metadata given), removed by the
// destructor if commit() was never reached. So an interrupted writer (an error, or a kill
// signal) never leaves a partial file under the target's name.
class AtomicFile {
public:
    // Checks the target first: not a directory, not existing unless overwrite, in an existing
    // directory.
    static Expected<AtomicFile> create(const std::filesystem::path& path, bool overwrite) {
        using namespace detail;
        const std::string name = display(path);
        if (path.empty() || !path.has_filename()) return make_error("'" + name + "': not a file name");
        struct stat st{};
        if (::stat(path.c_str(), &st) == 0) {
            if (S_ISDIR(st.st_mode)) return make_error(name + ": is a directory");
            if (!overwrite) return make_error(name + ": already exists (not overwritten)");
        }
        const auto dir = directory_of(path);
        if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
            return make_error(name + ": directory " + display(dir) + " does not exist");
        AtomicFile f;
        f.target_ = path;
        f.overwrite_ = overwrite;
        auto fd = create_temp_next_to(path, f.temp_);
        if (!fd) return fd.error();
        f.fd_ = *fd;
        return f;
    }
    AtomicFile(AtomicFile&& o) noexcept { *this = std::move(o); }
    AtomicFile& operator=(AtomicFile&& o) noexcept {
        std::swap(fd_, o.fd_), std::swap(temp_, o.temp_), std::swap(target_, o.target_), std::swap(overwrite_, o.overwrite_);
        return *this;
    }
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;
    ~AtomicFile() { discard(); }

    Status write(std::span<const std::uint8_t> bytes) {
        if (fd_ < 0) return make_error(detail::display(target_) + ": internal error: write after commit");
        return detail::write_all(fd_, bytes, detail::display(target_));
    }
    // Syncs the data, sets the permission bits (mode & 0777) and the modification time when
    // given, and renames the file into place.
    Status commit(const ::mode_t* mode = nullptr, const ::timespec* mtime = nullptr) {
        using namespace detail;
        const std::string name = display(target_);
        if (fd_ < 0) return make_error(name + ": internal error: commit twice");
        // Permission bits only: set-user-ID, set-group-ID and sticky bits are never restored.
        if (mode && ::fchmod(fd_, *mode & 0777) != 0) return make_error(name + ": cannot set its mode: " + system_reason(errno));
        if (mtime) {
            const ::timespec times[2] = {{0, UTIME_OMIT}, *mtime};
            if (::futimens(fd_, times) != 0) return make_error(name + ": cannot set its time: " + system_reason(errno));
        }
        if (::fsync(fd_) != 0) return make_error(name + ": fsync failed: " + system_reason(errno));
        const int rc = ::close(fd_);
        fd_ = -1;
        if (rc != 0) return make_error(name + ": close failed: " + system_reason(errno));
        if (auto ok = move_into_place(temp_, target_, overwrite_); !ok) return ok;
        temp_.clear();
        sync_directory(directory_of(target_));
        return Ok{};
    }
    // Removes the temporary file (what the destructor does).
    void discard() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        if (!temp_.empty()) ::unlink(temp_.c_str());
        temp_.clear();
    }

private:
    AtomicFile() = default;
    int fd_ = -1;
    std::filesystem::path temp_, target_;
    bool overwrite_ = false;
};

inline Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> bytes, bool overwrite) {
    auto f = AtomicFile::create(path, overwrite);
    if (!f) return f.error();
    if (auto ok = f->write(bytes); !ok) return ok;
    return f->commit();
}

}  // namespace bbans::files
