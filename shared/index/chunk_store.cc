// chunk_store.cc: writer and mmap reader of chunks.bin (layout in the header).
// Every field read from the file goes through memcpy (no aligned-load
// assumptions) and every offset is checked before use.
#include "chunk_store.h"

#include <cstring>

#include "coding.h"
#include "file_util.h"
#include "utf8.h"

namespace folio {
namespace {

constexpr char kMagic[8] = {'F', 'O', 'L', 'I', 'O', 'C', 'S', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 64;
constexpr uint64_t kRecordBytes = 32;

}  // namespace

void ChunkStoreWriter::Add(uint32_t doc_id, std::string_view source, std::string_view heading,
                           std::string_view text, uint32_t tokens) {
  Record r{data_.size(), doc_id, static_cast<uint32_t>(source.size()), static_cast<uint32_t>(heading.size()),
           static_cast<uint32_t>(text.size()), tokens, 0};
  data_.append(source).append(heading).append(text);
  records_.push_back(r);
}

Status ChunkStoreWriter::Write(const std::string& path, uint64_t documents, uint64_t* bytes,
                               std::string* xxh3) const {
  static_assert(sizeof(Record) == kRecordBytes);
  FileWriter w;
  Status s = w.Open(path);
  if (!s.ok()) return s;
  uint64_t n = records_.size();
  uint64_t data_offset = kHeaderBytes + n * kRecordBytes;
  uint64_t zero = 0;
  uint32_t version = kVersion, zero32 = 0;
  w.Append(kMagic, sizeof(kMagic));
  w.AppendPod(version);
  w.AppendPod(zero32);
  w.AppendPod(n);
  w.AppendPod(documents);
  w.AppendPod(kHeaderBytes);
  w.AppendPod(data_offset);
  w.AppendPod(static_cast<uint64_t>(data_.size()));
  w.AppendPod(zero);
  w.Append(records_.data(), records_.size() * sizeof(Record));
  w.Append(data_);
  s = w.Close();
  if (bytes) *bytes = w.bytes_written();
  if (xxh3) *xxh3 = w.xxh3_hex();
  return s;
}

Result<ChunkStore> ChunkStore::Open(const std::string& path) {
  Result<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto corrupt = [&](const std::string& why) { return InvalidArgument("index_corrupt", path + ": " + why); };
  const char* p = file->data();
  uint64_t size = file->size();
  if (size < kHeaderBytes) return corrupt("shorter than its header");
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic");
  if (LoadUnaligned<uint32_t>(p + 8) != kVersion) return corrupt("unsupported chunk store version");
  uint64_t n = LoadUnaligned<uint64_t>(p + 16);
  uint64_t documents = LoadUnaligned<uint64_t>(p + 24);
  uint64_t records_offset = LoadUnaligned<uint64_t>(p + 32);
  uint64_t data_offset = LoadUnaligned<uint64_t>(p + 40);
  uint64_t data_size = LoadUnaligned<uint64_t>(p + 48);
  if (records_offset != kHeaderBytes) return corrupt("bad records offset");
  if (n == 0 || n > (size - kHeaderBytes) / kRecordBytes || n > UINT32_MAX) return corrupt("bad chunk count");
  if (documents == 0 || documents > n) return corrupt("bad document count");
  if (data_offset != kHeaderBytes + n * kRecordBytes) return corrupt("bad data offset");
  if (data_size != size - data_offset) return corrupt("size does not match header (truncated?)");
  ChunkStore store;
  store.file_ = std::move(*file);
  store.chunks_ = n;
  store.documents_ = documents;
  store.records_ = store.file_.data() + records_offset;
  store.data_ = store.file_.data() + data_offset;
  store.data_size_ = data_size;
  return store;
}

std::optional<ChunkView> ChunkStore::Get(uint32_t id) const {
  if (id >= chunks_) return std::nullopt;
  const char* r = records_ + uint64_t{id} * kRecordBytes;
  uint64_t offset = LoadUnaligned<uint64_t>(r);
  uint32_t doc_id = LoadUnaligned<uint32_t>(r + 8);
  uint64_t source_len = LoadUnaligned<uint32_t>(r + 12);
  uint64_t heading_len = LoadUnaligned<uint32_t>(r + 16);
  uint64_t text_len = LoadUnaligned<uint32_t>(r + 20);
  if (doc_id >= documents_ || offset > data_size_ ||
      source_len + heading_len + text_len > data_size_ - offset) {
    return std::nullopt;
  }
  ChunkView v;
  v.id = id;
  v.doc_id = doc_id;
  const char* base = data_ + offset;
  v.source = std::string_view(base, source_len);
  v.heading = std::string_view(base + source_len, heading_len);
  v.text = std::string_view(base + source_len + heading_len, text_len);
  v.tokens = LoadUnaligned<uint32_t>(r + 24);
  return v;
}

uint64_t ChunkStore::LowerBound(uint64_t doc_id) const {
  uint64_t lo = 0, hi = chunks_;
  while (lo < hi) {  // first chunk whose doc_id >= doc_id
    uint64_t mid = lo + (hi - lo) / 2;
    if (LoadUnaligned<uint32_t>(records_ + mid * kRecordBytes + 8) < doc_id) lo = mid + 1; else hi = mid;
  }
  return lo;
}

std::optional<uint32_t> ChunkStore::FirstChunkOf(uint32_t doc_id) const {
  uint64_t lo = LowerBound(doc_id);
  if (lo >= chunks_ || LoadUnaligned<uint32_t>(records_ + lo * kRecordBytes + 8) != doc_id) return std::nullopt;
  return static_cast<uint32_t>(lo);
}

std::pair<uint32_t, uint32_t> ChunkStore::ChunksOf(uint32_t doc_id) const {
  return {static_cast<uint32_t>(LowerBound(doc_id)), static_cast<uint32_t>(LowerBound(uint64_t{doc_id} + 1))};
}

Status ChunkStore::VerifyAll() const {
  std::string scratch;
  for (uint64_t id = 0; id < chunks_; ++id) {
    std::optional<ChunkView> v = Get(static_cast<uint32_t>(id));
    if (!v) return InvalidArgument("index_corrupt", file_.path() + ": chunk " + std::to_string(id) + " out of bounds");
    for (std::string_view s : {v->source, v->heading, v->text}) {
      scratch.assign(s);
      if (RepairUtf8(&scratch)) {
        return InvalidArgument("index_corrupt", file_.path() + ": chunk " + std::to_string(id) + " is not UTF-8");
      }
    }
  }
  return Status::Ok();
}

}  // namespace folio
