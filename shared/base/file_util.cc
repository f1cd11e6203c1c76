// file_util.cc: write(2)/fsync(2) with a 1 MiB buffer; XXH3 streaming state;
// directory swaps and flock(2).
#include "file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace folio {
namespace {

constexpr size_t kBufferBytes = 1u << 20;

std::string Hex64(uint64_t v) {
  char hex[17];
  snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(v));
  return hex;
}

}  // namespace

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (state_ != nullptr) XXH3_freeState(static_cast<XXH3_state_t*>(state_));
}

Status FileWriter::Open(const std::string& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Internal("index_write_failed", "cannot create " + path + ": " + std::strerror(errno));
  state_ = XXH3_createState();
  XXH3_64bits_reset(static_cast<XXH3_state_t*>(state_));
  buffer_.reserve(kBufferBytes);
  return Status::Ok();
}

void FileWriter::Append(const void* data, size_t size) {
  if (fd_ < 0 || error_ != 0) return;
  XXH3_64bits_update(static_cast<XXH3_state_t*>(state_), data, size);
  bytes_ += size;
  if (buffer_.size() + size > kBufferBytes) {
    if (!Flush().ok()) return;
  }
  if (size >= kBufferBytes) {  // large blocks go straight through
    buffer_.assign(static_cast<const char*>(data), size);
    (void)Flush();
    return;
  }
  buffer_.append(static_cast<const char*>(data), size);
}

Status FileWriter::Flush() {
  size_t off = 0;
  while (off < buffer_.size() && error_ == 0) {
    ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno : EIO;
      break;
    }
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
  if (error_ != 0) return Internal("index_write_failed", "cannot write " + path_ + ": " + std::strerror(error_));
  return Status::Ok();
}

Status FileWriter::Close() {
  if (fd_ < 0) return Internal("index_write_failed", "file " + path_ + " was not open");
  Status s = Flush();
  if (s.ok() && ::fsync(fd_) != 0) s = Internal("index_write_failed", "fsync " + path_ + ": " + std::strerror(errno));
  if (::close(fd_) != 0 && s.ok()) s = Internal("index_write_failed", "close " + path_ + ": " + std::strerror(errno));
  fd_ = -1;
  digest_ = XXH3_64bits_digest(static_cast<XXH3_state_t*>(state_));
  return s;
}

std::string FileWriter::xxh3_hex() const { return Hex64(digest_); }

Status WriteFileDurably(const std::string& path, std::string_view bytes) {
  FileWriter w;
  Status s = w.Open(path);
  if (!s.ok()) return s;
  w.Append(bytes);
  return w.Close();
}

Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound("file_missing", path + " does not exist");
    return Unavailable("file_unreadable", "cannot open " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buffer[16384];
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0 || out.size() + static_cast<size_t>(n) > max_bytes) {
      if (n > 0) error = EFBIG;
      break;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  if (error == EFBIG) return InvalidArgument("file_too_large", path + " is larger than " + std::to_string(max_bytes) + " bytes");
  if (error != 0) return Unavailable("file_unreadable", "cannot read " + path + ": " + std::strerror(error));
  return out;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Internal("index_write_failed", "cannot open directory " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Internal("index_write_failed", "fsync " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

Status SyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("file_unreadable", "cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Unavailable("file_unsynced", "fsync " + path + ": " + std::strerror(err));
  return Status::Ok();
}

std::string Xxh3Hex(std::string_view bytes) { return Hex64(XXH3_64bits(bytes.data(), bytes.size())); }

Result<std::string> FileXxh3Hex(const std::string& path, uint64_t* bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound("file_missing", path + " does not exist");
    return Unavailable("file_unreadable", "cannot open " + path + ": " + std::strerror(errno));
  }
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::string buffer(kBufferBytes, '\0');
  uint64_t total = 0;
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    XXH3_64bits_update(state, buffer.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  // What was read once will not be read again soon: leave the page cache
  // to the live environments (a backup can be as large as the store).
  (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
  const uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (error != 0) return Unavailable("file_unreadable", "cannot read " + path + ": " + std::strerror(error));
  if (bytes != nullptr) *bytes = total;
  return Hex64(digest);
}

TempDirGuard::~TempDirGuard() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

Status ReplaceDirectory(const std::string& tmp, const std::string& out, const std::string& old) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove_all(old, ec);
  if (!fs::exists(out, ec)) {
    if (std::rename(tmp.c_str(), out.c_str()) != 0) {
      return Internal("swap_failed", "cannot rename " + tmp + " to " + out + ": " + std::strerror(errno));
    }
  } else if (renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, out.c_str(), RENAME_EXCHANGE) == 0) {
    if (std::rename(tmp.c_str(), old.c_str()) != 0) fs::remove_all(tmp, ec);  // tmp now holds the old tree
  } else {
    // No atomic exchange on this filesystem: a brief window without <out>.
    if (std::rename(out.c_str(), old.c_str()) != 0) {
      return Internal("swap_failed", "cannot move " + out + " aside: " + std::strerror(errno));
    }
    if (std::rename(tmp.c_str(), out.c_str()) != 0) {
      const int err = errno;
      (void)std::rename(old.c_str(), out.c_str());  // put the old tree back
      return Internal("swap_failed", "cannot move " + tmp + " to " + out + ": " + std::strerror(err));
    }
  }
  const fs::path parent = fs::absolute(out, ec).parent_path();
  return SyncDirectory(parent.string());
}

Result<FileLock> FileLock::TryAcquire(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("lock_unavailable", "cannot open " + path + ": " + std::strerror(errno));
  int rc;
  while ((rc = ::flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
  }
  if (rc != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return ResourceExhausted("lock_held", path + " is locked by another process");
    return Unavailable("lock_unavailable", "flock " + path + ": " + std::strerror(err));
  }
  return FileLock(fd);
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

}  // namespace folio
