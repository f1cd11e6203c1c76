// knowledge.h: the index this worker process searches and the embedder for
// its queries, swapped whole when folio-ingest writes a new index.
// Get() hands out shared_ptrs: a search holds the snapshot it started with,
// so an old mapping is released only after its last search finishes.
// Thread-safe. Per process (each process maps the same files read-only, so
// the pages are shared by the kernel, not copied).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

#include "embedder.h"
#include "index_snapshot.h"
#include "status.h"

namespace folio {

class Knowledge {
 public:
  struct Current {
    std::shared_ptr<const IndexSnapshot> index;  // null until one opened
    std::shared_ptr<Embedder> embedder;
  };

  explicit Knowledge(std::string index_dir) : index_dir_(std::move(index_dir)) {}
  ~Knowledge() { StopWatching(); }
  Knowledge(const Knowledge&) = delete;
  Knowledge& operator=(const Knowledge&) = delete;

  // Opens the index directory now. On failure the previous index (if any)
  // stays in service and the reason is kept for /ready and /api/health.
  Status Load();

  // Polls the manifest every `period` and loads a new index when it changed
  // (folio-ingest renames a new directory into place).
  void StartWatching(std::chrono::milliseconds period);
  void StopWatching();

  Current Get() const;
  // OK when an index is in service; otherwise why not.
  Status status() const;
  const std::string& index_dir() const { return index_dir_; }
  int swaps() const { return swaps_.load(); }

 private:
  // Identity of the manifest file: changes when a new directory is renamed in.
  struct FileId {
    ino_t inode = 0;
    int64_t mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  FileId ManifestId() const;

  const std::string index_dir_;
  mutable std::mutex mu_;
  Current current_;
  Status status_ = Unavailable("index_not_loaded", "the index has not been opened yet");
  FileId loaded_id_;
  std::atomic<int> swaps_{0};
  std::atomic<bool> watching_{false};
  std::thread watcher_;
};

}  // namespace folio
