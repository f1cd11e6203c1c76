// file_util.h: durable file writing for the index writer: a streaming writer
// that checksums as it goes, fsync of files and directories, XXH3 helpers.
// FileWriter owns its fd (RAII, move-only); use one per thread.
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

// fsync(2) on a directory, so renames and new entries in it are durable.
Status SyncDirectory(const std::string& dir);

// XXH3-64 of `bytes` as 16 hex digits.
std::string Xxh3Hex(std::string_view bytes);

}  // namespace folio
