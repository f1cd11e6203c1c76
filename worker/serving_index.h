// serving_index.h: the index this worker process searches and the embedder for
// its queries, swapped whole when folio-ingest writes a new index.
// Get() hands out shared_ptrs: a search holds the snapshot it started with,
// so an old mapping is released only after its last search finishes.
// Thread-safe. Per process (each process maps the same files read-only, so
// the pages are shared by the kernel, not copied).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>

#include "embedder.h"
#include "embedder_factory.h"
#include "index_snapshot.h"
#include "status.h"

namespace folio {

class ServingIndex {
 public:
  struct Current {
    std::shared_ptr<const IndexSnapshot> index;  // null until one opened
    std::shared_ptr<Embedder> embedder;          // null when the index has no vectors
  };

  // `openai`: where an index built with the openai embedder sends queries.
  explicit ServingIndex(std::string index_dir, OpenAiEndpoint openai = {})
      : index_dir_(std::move(index_dir)), openai_(std::move(openai)) {}
  ~ServingIndex() { StopWatching(); }
  ServingIndex(const ServingIndex&) = delete;
  ServingIndex& operator=(const ServingIndex&) = delete;

  // Opens the index directory now. On failure the previous index (if any)
  // stays in service and the reason is kept for /ready and /api/health.
  Status Load();

  // Polls the index directory every `period` and loads it again when any of
  // its files changed (folio-ingest renames a new directory into place). A
  // file of the index in service changed in place (same inode: truncated or
  // overwritten, which folio-ingest never does) means the mapped bytes are no
  // longer the ones verified: the directory is reopened with every checksum
  // checked, and if that fails the index is taken out of service rather than
  // searched (InstallMappedFileGuard makes the truncated part read as zeros
  // meanwhile).
  void StartWatching(std::chrono::milliseconds period);
  void StopWatching();

  Current Get() const;
  // OK when the last load succeeded; otherwise why it failed (an index may
  // still be in service: see in_service()).
  Status status() const;
  bool in_service() const;
  const std::string& index_dir() const { return index_dir_; }
  int swaps() const { return swaps_.load(); }

 private:
  // Identity of one file: a new directory renamed in gives new inodes; a
  // change in place keeps the inode and changes the size, mtime or ctime.
  struct FileId {
    ino_t inode = 0;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;  // cannot be set back (cp -a restores mtime, not ctime)
    bool operator==(const FileId&) const = default;
  };
  using DirId = std::map<std::string, FileId>;  // file name → identity
  DirId ReadDirId() const;
  // True if a data file (not the manifest, which is read, not mapped) of
  // `serving` has the same inode in `now` but another size, mtime or ctime.
  static bool ChangedInPlace(const DirId& serving, const DirId& now);
  // `verify`: kFull unless a new directory was swapped in (see the watcher).
  // `in_place`: the index in service was changed in place: take it out of
  // service if the reload fails.
  Status Load(HnswGraph::Verify verify, bool in_place);

  const std::string index_dir_;
  const OpenAiEndpoint openai_;
  mutable std::mutex mu_;
  Current current_;
  Status status_ = Unavailable("index_not_loaded", "the index has not been opened yet");
  DirId loaded_id_;   // at the last load, successful or not
  DirId serving_id_;  // at the load of current_
  std::atomic<int> swaps_{0};
  std::atomic<bool> watching_{false};
  std::thread watcher_;
};

}  // namespace folio
