// serving_index.cc: opening, verifying and hot-swapping the index.
#include "serving_index.h"

#include <dirent.h>
#include <sys/stat.h>

#include "index_manifest.h"
#include "log.h"
#include "mapped_file.h"

namespace folio {

namespace {

// Only the index's own files: anything else in the directory (a file being
// written before it is renamed over one of them, an editor's backup) is not
// mapped, so its changes must neither reload the index nor look like an
// in-place change of a mapped file, which takes the index out of service.
bool IsIndexFile(const std::string& name) {
  for (const char* f : {kManifestFile, kHnswFile, kChunksFile, kBm25File, kDocBm25File, kAnchorsFile, kIdfFile})
    if (name == f) return true;
  return false;
}

}  // namespace

ServingIndex::DirId ServingIndex::ReadDirId() const {
  DirId id;
  DIR* dir = opendir(index_dir_.c_str());
  if (dir == nullptr) return id;
  while (const dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    struct stat st {};
    if (!IsIndexFile(name) || stat((index_dir_ + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    id[name] = {st.st_ino, static_cast<int64_t>(st.st_size),
                static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
                static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
  }
  closedir(dir);
  return id;
}

bool ServingIndex::ChangedInPlace(const DirId& serving, const DirId& now) {
  for (const auto& [name, was] : serving) {
    if (name == kManifestFile) continue;
    auto it = now.find(name);
    if (it != now.end() && it->second.inode == was.inode && !(it->second == was)) return true;
  }
  return false;
}

// At start every byte is checked (checksums, every level-0 link): the
// files may have been damaged while no worker was watching them, or while
// the workers that noticed took them out of service, and hnswlib follows
// level-0 links unchecked. A read of the whole index, once per worker start.
Status ServingIndex::Load() { return Load(HnswGraph::Verify::kFull, /*in_place=*/false); }

Status ServingIndex::Load(HnswGraph::Verify verify, bool in_place) {
  DirId id = ReadDirId();
  auto start = std::chrono::steady_clock::now();
  IndexOpenOptions options;
  options.verify = verify;
  Result<std::shared_ptr<IndexSnapshot>> opened = IndexSnapshot::Open(index_dir_, options);
  Status status;
  Current next;
  if (!opened.ok()) {
    status = opened.status().code() == Code::kNotFound
                 ? Unavailable("index_missing", "no index at " + index_dir_ + " (run folio-ingest)")
                 : Unavailable(opened.status().error(), "index at " + index_dir_ + ": " + opened.status().message());
  } else if (!(*opened)->has_vectors()) {
    next.index = std::move(opened.value());  // keyword search only: queries need no embedder
  } else {
    Result<std::unique_ptr<Embedder>> embedder = (*opened)->MakeQueryEmbedder(openai_);
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
    // The index in service was changed under its mapping: searching it could
    // return garbage, so it goes (searches holding it finish on what they have).
    if (in_place) current_ = {};
    LogError("index_open_failed", {{"dir", index_dir_}, {"reason", status.message()},
                                   {"previous_kept", current_.index != nullptr}});
    return status;  // a previous index, if any and intact, keeps serving
  }
  bool swap = current_.index != nullptr;
  current_ = std::move(next);
  serving_id_ = std::move(id);
  status_ = Status::Ok();
  if (swap) swaps_.fetch_add(1);
  const IndexManifest& m = current_.index->manifest();
  LogInfo(swap ? "index_swapped" : "index_opened",
          {{"dir", index_dir_}, {"documents", m.documents}, {"chunks", m.chunks}, {"kb_version", m.kb_version},
           {"embedder", m.embedder}, {"open_ms", ms}});
  return Status::Ok();
}

void ServingIndex::StartWatching(std::chrono::milliseconds period) {
  watching_ = true;
  watcher_ = std::thread([this, period] {
    uint64_t faults = MappedFileFaults();
    while (watching_.load()) {
      // Sleep in short steps so StopWatching() returns promptly.
      for (auto slept = std::chrono::milliseconds(0); slept < period && watching_.load();
           slept += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (!watching_.load()) break;
      DirId id = ReadDirId();
      bool changed, in_place, same_dir;
      {
        std::lock_guard<std::mutex> lock(mu_);
        changed = id != loaded_id_;
        in_place = current_.index != nullptr && ChangedInPlace(serving_id_, id);
        // folio-ingest always brings a new manifest file; files edited in a
        // directory whose manifest stayed are untrusted: check every byte.
        auto was = loaded_id_.find(kManifestFile), now = id.find(kManifestFile);
        same_dir = was != loaded_id_.end() && now != id.end() && was->second.inode == now->second.inode;
      }
      // A read past the end of a mapped file (the guard made it read zeros).
      if (uint64_t now = MappedFileFaults(); now != faults) {
        LogError("index_read_past_end", {{"dir", index_dir_}, {"pages", now - faults}});
        faults = now;
        in_place = in_service();
      }
      if (in_place) LogError("index_changed_in_place", {{"dir", index_dir_}});
      if (changed || in_place)
        (void)Load(in_place || same_dir ? HnswGraph::Verify::kFull : HnswGraph::Verify::kQuick, in_place);
    }
  });
}

bool ServingIndex::in_service() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_.index != nullptr;
}

void ServingIndex::StopWatching() {
  watching_ = false;
  if (watcher_.joinable()) watcher_.join();
}

ServingIndex::Current ServingIndex::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

Status ServingIndex::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

}  // namespace folio
