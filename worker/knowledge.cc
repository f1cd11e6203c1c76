// knowledge.cc: opening, verifying and hot-swapping the index.
#include "knowledge.h"

#include <sys/stat.h>

#include "log.h"

namespace folio {

Knowledge::FileId Knowledge::ManifestId() const {
  struct stat st {};
  if (stat((index_dir_ + "/" + kManifestFile).c_str(), &st) != 0) return {};
  return {st.st_ino, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

Status Knowledge::Load() {
  FileId id = ManifestId();
  auto start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<IndexSnapshot>> opened = IndexSnapshot::Open(index_dir_);
  Status status;
  Current next;
  if (!opened.ok()) {
    status = opened.status().code() == Code::kNotFound
                 ? Unavailable("index_missing", "no index at " + index_dir_ + " (run folio-ingest)")
                 : Unavailable(opened.status().error(), "index at " + index_dir_ + ": " + opened.status().message());
  } else {
    Result<std::unique_ptr<Embedder>> embedder = (*opened)->MakeQueryEmbedder();
    const IndexManifest& m = (*opened)->manifest();
    if (!embedder.ok()) {
      // "embedder_mismatch" (another model or dimension than the index's) or why it cannot be made.
      status = Unavailable(embedder.status().error(), "the index was built with embedder " + m.embedder + ": " +
                                                          embedder.status().message());
    } else if ((*embedder)->name() != m.embedder ||
               ((*embedder)->dimension() != 0 && (*embedder)->dimension() != m.dimension)) {
      status = Unavailable("embedder_mismatch", "the index was built with " + m.embedder + " (dimension " +
                                                    std::to_string(m.dimension) + ") but queries would use " +
                                                    (*embedder)->name() + " (dimension " +
                                                    std::to_string((*embedder)->dimension()) + ")");
    } else {
      next.index = std::move(opened.value());
      next.embedder = std::move(embedder.value());
    }
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::lock_guard<std::mutex> lock(mu_);
  loaded_id_ = id;
  if (!status.ok()) {
    status_ = status;
    LogError("index_open_failed", {{"dir", index_dir_}, {"reason", status.message()},
                                   {"previous_kept", current_.index != nullptr}});
    return status;  // a previous index, if any, keeps serving
  }
  bool swap = current_.index != nullptr;
  current_ = std::move(next);
  status_ = Status::Ok();
  if (swap) swaps_.fetch_add(1);
  const IndexManifest& m = current_.index->manifest();
  LogInfo(swap ? "index_swapped" : "index_opened",
          {{"dir", index_dir_}, {"documents", m.documents}, {"chunks", m.chunks}, {"kb_version", m.kb_version},
           {"embedder", m.embedder}, {"open_ms", ms}});
  return Status::Ok();
}

void Knowledge::StartWatching(std::chrono::milliseconds period) {
  watching_ = true;
  watcher_ = std::thread([this, period] {
    while (watching_.load()) {
      // Sleep in short steps so StopWatching() returns promptly.
      for (auto slept = std::chrono::milliseconds(0); slept < period && watching_.load();
           slept += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!watching_.load()) break;
      FileId id = ManifestId();
      bool changed;
      {
        std::lock_guard<std::mutex> lock(mu_);
        changed = !(id == loaded_id_);
      }
      if (changed) (void)Load();
    }
  });
}

void Knowledge::StopWatching() {
  watching_ = false;
  if (watcher_.joinable()) watcher_.join();
}

Knowledge::Current Knowledge::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status Knowledge::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace folio
