// file_util.cc: write(2)/fsync(2) with a 1 MiB buffer; XXH3 streaming state.
#include "file_util.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
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

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Internal("index_write_failed", "cannot open directory " + dir + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return Internal("index_write_failed", "fsync " + dir + ": " + std::strerror(err));
  return Status::Ok();
}

std::string Xxh3Hex(std::string_view bytes) { return Hex64(XXH3_64bits(bytes.data(), bytes.size())); }

}  // namespace folio
