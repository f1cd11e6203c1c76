// shm_file.h: the small files every worker process maps MAP_SHARED and
// changes through lock-free atomics ($RUN_DIR/metrics.shm, breaker.shm,
// limits.shm). One copy of what each needs: the open (0600), the flock(2)
// that serialises initialisation and ownership changes across processes,
// growing and mapping, and validate-or-initialise with the magic number
// written last, so that a process killed mid-initialisation leaves a file
// the next opener initialises again.
// LockedFile and SharedMapping are RAII owners (move-only). A mapping may be
// used from any thread; what its bytes mean, and which of them are atomics,
// is the caller's layout.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "status.h"

namespace folio {

// The first 16 bytes of a fixed-size shared file. Put it first in a layout.
struct SharedFileHeader {
  uint64_t magic;    // written last: a file without it is initialised again
  uint32_t version;  // of the layout after the header
  uint32_t size;     // bytes the layout maps
};

// Whether a longer file than the layout is kept (kAtLeast) or cut back to it
// (kExact). Never cut a file back that some version of folio maps longer: a
// process touching a mapped page past the end of the file dies of SIGBUS.
enum class FileSize { kAtLeast, kExact };

// A fixed-size layout behind a SharedFileHeader.
struct SharedFileFormat {
  uint64_t magic = 0;
  uint32_t version = 0;
  uint32_t size = 0;  // a multiple of the page size
  FileSize sizing = FileSize::kAtLeast;
  // Builds the layout in `size` zero bytes, the header excepted (placement
  // new of its atomics, initial values). Null: zeroes are the initial state.
  void (*init)(void* at) = nullptr;
};

// True when `at` starts with format's header: magic, version and size.
bool HasHeader(const void* at, const SharedFileFormat& format);

// Makes `magic` visible at `*field` after every store before this call, so an
// opener that reads the magic also reads the initialised layout. For layouts
// whose header is not a SharedFileHeader; LockedFile::MapFormatted does it.
void PublishMagic(uint64_t* field, uint64_t magic);

class LockedFile;

// A mapping of a shared file, or of private memory. Unmapped when destroyed;
// the file itself stays.
class SharedMapping {
 public:
  // `format`'s layout, initialised, in zeroed private memory: one process's
  // copy (tests, tools without a RUN_DIR). A fork()ed child gets its own.
  static SharedMapping Private(const SharedFileFormat& format);
  // The whole of `path` mapped read-only, for a reader that never writes: no
  // lock, no initialisation. An empty file, or one that is not a regular
  // file, maps nothing (size() 0). NotFound(error_token) when there is no
  // such file; Internal(error_token) when it cannot be opened or mapped.
  static Result<SharedMapping> OpenReadOnly(const std::string& path, const std::string& error_token);

  SharedMapping(SharedMapping&& other) noexcept;
  SharedMapping& operator=(SharedMapping&& other) noexcept;
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping();

  void* data() const { return addr_; }
  size_t size() const { return size_; }
  // The mapped file; "" for private memory.
  const std::string& path() const { return path_; }

  // Takes the file's lock again, for ownership changes after the opening
  // (claims, reclaims, a slot given back). Opens the path anew: a descriptor
  // inherited across fork() shares its lock with the parent and would not
  // exclude it. Unavailable(error_token) for private memory, or when the path
  // no longer names the mapped file (removed or replaced); Internal otherwise.
  Result<LockedFile> Lock(const std::string& error_token) const;

 private:
  friend class LockedFile;
  SharedMapping(void* addr, size_t size, bool heap, std::string path, dev_t dev, ino_t ino);
  void Reset();

  void* addr_ = nullptr;
  size_t size_ = 0;
  bool heap_ = false;  // private memory (operator new), not mmap
  std::string path_;
  dev_t dev_ = 0;  // the mapped file, for Lock()
  ino_t ino_ = 0;
};

// A shared file open read-write under an exclusive flock(2): the state in
// which a file is initialised and its owners claimed or reclaimed. Destroying
// it unlocks, then closes: the lock belongs to the open file description,
// which a mapping keeps alive after close(), so only an explicit unlock lets
// the next opener in.
class LockedFile {
 public:
  // Opens `path`, creating it 0600 (an existing one is tightened to 0600:
  // only folio's own processes map it), and waits for its lock.
  // Internal(error_token), naming the path and errno, when it cannot be
  // opened, locked or stat'ed, or is not a regular file.
  static Result<LockedFile> Open(const std::string& path, const std::string& error_token);

  LockedFile(LockedFile&& other) noexcept;
  LockedFile& operator=(LockedFile&&) = delete;
  LockedFile(const LockedFile&) = delete;
  LockedFile& operator=(const LockedFile&) = delete;
  ~LockedFile();

  // The file's size when it was locked.
  off_t size() const { return size_; }
  // Reads n bytes at `offset`; false when fewer are there.
  bool ReadAt(void* out, size_t n, off_t offset) const;
  // Maps the first `bytes` bytes read-write, MAP_SHARED, first growing the
  // file to them (zero-filled) if it is shorter, or cutting it back if it is
  // longer and `sizing` is kExact. Internal(error_token) on failure.
  Result<SharedMapping> Map(size_t bytes, FileSize sizing = FileSize::kAtLeast);
  // Map(format.size), then, unless the bytes already start with format's
  // header, zeroes them, runs format.init and writes the header, the magic
  // last. Anything else there (garbage, a layout of another version, a
  // half-initialised file) is lost: every shared file holds soft state.
  Result<SharedMapping> MapFormatted(const SharedFileFormat& format);

 private:
  friend class SharedMapping;
  LockedFile(int fd, std::string path, std::string error_token, const struct stat& st);
  Status Error(const std::string& what) const;  // errno-based, for the token

  int fd_ = -1;
  std::string path_;
  std::string error_token_;
  off_t size_ = 0;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace folio
