// shm_file.cc: open, lock, size, map, validate-or-initialise.
#include "shm_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

namespace folio {
namespace {

Status ErrnoStatus(const std::string& token, const std::string& what, const std::string& path) {
  return Internal(token, what + " " + path + ": " + std::strerror(errno));
}

void WriteHeader(void* at, const SharedFileFormat& format) {
  auto* header = static_cast<SharedFileHeader*>(at);
  header->version = format.version;
  header->size = format.size;
  PublishMagic(&header->magic, format.magic);
}

}  // namespace

bool HasHeader(const void* at, const SharedFileFormat& format) {
  const auto* header = static_cast<const SharedFileHeader*>(at);
  return header->magic == format.magic && header->version == format.version && header->size == format.size;
}

void PublishMagic(uint64_t* field, uint64_t magic) {
  std::atomic_thread_fence(std::memory_order_release);
  *field = magic;
}

// ---- SharedMapping ----------------------------------------------------------

SharedMapping::SharedMapping(void* addr, size_t size, bool heap, std::string path, dev_t dev, ino_t ino)
    : addr_(addr), size_(size), heap_(heap), path_(std::move(path)), dev_(dev), ino_(ino) {}

SharedMapping SharedMapping::Private(const SharedFileFormat& format) {
  void* at = ::operator new(format.size, std::align_val_t{4096});
  std::memset(at, 0, format.size);
  if (format.init != nullptr) format.init(at);
  WriteHeader(at, format);
  return SharedMapping(at, format.size, true, "", 0, 0);
}

Result<SharedMapping> SharedMapping::OpenReadOnly(const std::string& path, const std::string& error_token) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(error_token, "no file at " + path);
    return ErrnoStatus(error_token, "cannot open", path);
  }
  struct stat st{};
  Status failed;
  void* addr = nullptr;
  if (::fstat(fd, &st) != 0) {
    failed = ErrnoStatus(error_token, "cannot stat", path);
  } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
    addr = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) failed = ErrnoStatus(error_token, "cannot map", path);
  }
  ::close(fd);  // the mapping keeps the file
  if (!failed.ok()) return failed;
  const size_t size = addr != nullptr ? static_cast<size_t>(st.st_size) : 0;
  return SharedMapping(addr, size, false, path, st.st_dev, st.st_ino);
}

SharedMapping::SharedMapping(SharedMapping&& other) noexcept
    : addr_(std::exchange(other.addr_, nullptr)), size_(std::exchange(other.size_, 0)), heap_(other.heap_),
      path_(std::move(other.path_)), dev_(other.dev_), ino_(other.ino_) {}

SharedMapping& SharedMapping::operator=(SharedMapping&& other) noexcept {
  if (this != &other) {
    Reset();
    addr_ = std::exchange(other.addr_, nullptr);
    size_ = std::exchange(other.size_, 0);
    heap_ = other.heap_;
    path_ = std::move(other.path_);
    dev_ = other.dev_;
    ino_ = other.ino_;
  }
  return *this;
}

SharedMapping::~SharedMapping() { Reset(); }

void SharedMapping::Reset() {
  if (addr_ == nullptr) return;
  if (heap_) {
    ::operator delete(addr_, std::align_val_t{4096});
  } else {
    ::munmap(addr_, size_);
  }
  addr_ = nullptr;
}

Result<LockedFile> SharedMapping::Lock(const std::string& error_token) const {
  if (heap_ || path_.empty()) return Unavailable(error_token, "private memory has no file to lock");
  const int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Unavailable(error_token, "cannot open " + path_ + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0 || st.st_dev != dev_ || st.st_ino != ino_) {
    ::close(fd);
    return Unavailable(error_token, path_ + " is no longer the mapped file");
  }
  if (::flock(fd, LOCK_EX) != 0) {
    Status s = ErrnoStatus(error_token, "cannot lock", path_);
    ::close(fd);
    return s;
  }
  return LockedFile(fd, path_, error_token, st);
}

// ---- LockedFile --------------------------------------------------------------

LockedFile::LockedFile(int fd, std::string path, std::string error_token, const struct stat& st)
    : fd_(fd), path_(std::move(path)), error_token_(std::move(error_token)), size_(st.st_size), dev_(st.st_dev),
      ino_(st.st_ino) {}

Result<LockedFile> LockedFile::Open(const std::string& path, const std::string& error_token) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(error_token, "cannot open", path);
  (void)::fchmod(fd, 0600);  // a file an older folio made readable to others
  // Until this returns, no other opener sees the file half-initialised.
  if (::flock(fd, LOCK_EX) != 0) {
    Status s = ErrnoStatus(error_token, "cannot lock", path);
    ::close(fd);
    return s;
  }
  struct stat st{};
  LockedFile file(fd, path, error_token, st);  // from here on, unlocks and closes on every return
  if (::fstat(fd, &st) != 0) return file.Error("cannot stat");
  if (!S_ISREG(st.st_mode)) return Internal(error_token, path + " is not a regular file");
  file.size_ = st.st_size;
  file.dev_ = st.st_dev;
  file.ino_ = st.st_ino;
  return file;
}

LockedFile::LockedFile(LockedFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)), error_token_(std::move(other.error_token_)),
      size_(other.size_), dev_(other.dev_), ino_(other.ino_) {}

LockedFile::~LockedFile() {
  if (fd_ < 0) return;
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

Status LockedFile::Error(const std::string& what) const { return ErrnoStatus(error_token_, what, path_); }

bool LockedFile::ReadAt(void* out, size_t n, off_t offset) const {
  return ::pread(fd_, out, n, offset) == static_cast<ssize_t>(n);
}

Result<SharedMapping> LockedFile::Map(size_t bytes, FileSize sizing) {
  const auto want = static_cast<off_t>(bytes);
  if ((size_ < want || (sizing == FileSize::kExact && size_ != want)) && ::ftruncate(fd_, want) != 0) {
    return Error("cannot size");
  }
  if (size_ < want || sizing == FileSize::kExact) size_ = want;
  void* addr = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (addr == MAP_FAILED) return Error("cannot map");
  return SharedMapping(addr, bytes, false, path_, dev_, ino_);
}

Result<SharedMapping> LockedFile::MapFormatted(const SharedFileFormat& format) {
  Result<SharedMapping> mapping = Map(format.size, format.sizing);
  if (!mapping.ok()) return mapping;
  void* at = mapping->data();
  if (!HasHeader(at, format)) {
    std::memset(at, 0, format.size);
    if (format.init != nullptr) format.init(at);
    WriteHeader(at, format);
  }
  return mapping;
}

}  // namespace folio
