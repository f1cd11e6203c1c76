// file_util.h: durable files and directories for the index writer and the
// backups: a streaming writer that checksums as it goes, fsync of files and
// directories, a temp directory swapped into place, a cross-process lock
// file, XXH3 helpers. FileWriter and FileLock own their fd (RAII, not
// copyable); use one per thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "status.h"

namespace folio {

class FileWriter {
 public:
  FileWriter() = default;
  ~FileWriter();  // closes without syncing if Close() was not called
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // Creates or truncates `path` (mode 0644).
  Status Open(const std::string& path);
  // Buffered append; errors are sticky and reported by Close().
  void Append(const void* data, size_t size);
  void Append(std::string_view bytes) { Append(bytes.data(), bytes.size()); }
  template <typename T>
  void AppendPod(const T& value) { Append(&value, sizeof(T)); }
  // Flushes, fsyncs and closes. Internal ("index_write_failed") on any error.
  Status Close();

  uint64_t bytes_written() const { return bytes_; }
  // XXH3-64 of everything appended, as 16 hex digits. Valid after Close().
  std::string xxh3_hex() const;

 private:
  Status Flush();

  int fd_ = -1;
  std::string path_;
  std::string buffer_;
  uint64_t bytes_ = 0;
  void* state_ = nullptr;  // XXH3_state_t*
  uint64_t digest_ = 0;
  int error_ = 0;
};

// Writes `bytes` to `path` via FileWriter.
Status WriteFileDurably(const std::string& path, std::string_view bytes);

// The whole of a small file (a manifest, a state file). NotFound if absent;
// InvalidArgument("file_too_large") beyond max_bytes; Unavailable otherwise.
Result<std::string> ReadSmallFile(const std::string& path, size_t max_bytes);

// fsync(2) on a directory, so renames and new entries in it are durable.
Status SyncDirectory(const std::string& dir);
// fsync(2) on a file someone else wrote (LMDB's copy of an environment).
Status SyncFile(const std::string& path);

// XXH3-64 of `bytes` as 16 hex digits.
std::string Xxh3Hex(std::string_view bytes);

// XXH3-64 of a whole file, read in 1 MiB pieces (never mapped: a file
// truncated meanwhile is a short read, not a SIGBUS), as 16 hex digits;
// *bytes gets its size. NotFound if absent, Unavailable if unreadable.
Result<std::string> FileXxh3Hex(const std::string& path, uint64_t* bytes);

// Removes a directory tree when destroyed, unless Commit() was called: the
// temp directory of a write that fails half-way leaves nothing behind.
class TempDirGuard {
 public:
  explicit TempDirGuard(std::string path) : path_(std::move(path)) {}
  ~TempDirGuard();
  TempDirGuard(const TempDirGuard&) = delete;
  TempDirGuard& operator=(const TempDirGuard&) = delete;
  void Commit() { committed_ = true; }

 private:
  std::string path_;
  bool committed_ = false;
};

// Puts the complete directory `tmp` in the place of `out`, and whatever was
// at `out` at `old` (an earlier `old` is removed first). Where `out` exists,
// renameat2(RENAME_EXCHANGE) swaps the two in one step, so a process that
// opens `out` finds the previous or the new tree, never none; on a
// filesystem without it, two renames leave a moment without `out`. The
// parent directory is fsynced. The caller removes `old` if it wants it gone.
// Internal("swap_failed") with `out` as it was when a rename fails.
Status ReplaceDirectory(const std::string& tmp, const std::string& out, const std::string& old);

// An exclusive flock(2) on a file, held until destruction. flock locks
// belong to the open file: released when the holder closes it or dies, and
// two opens conflict even within one process.
class FileLock {
 public:
  // Creates `path` (0600) if needed and takes the lock without waiting.
  // ResourceExhausted("lock_held") when another holder has it; Unavailable
  // when the file cannot be opened.
  static Result<FileLock> TryAcquire(const std::string& path);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace folio
