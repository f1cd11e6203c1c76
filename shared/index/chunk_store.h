// chunk_store.h: chunks.bin, the chunk texts of an index, read in place
// through a read-only mmap (string_views into the mapping, no copies).
// Layout (little-endian): 64-byte header {"FOLIOCS1", u32 version=1, u32 0,
// u64 chunks, u64 documents, u64 records_offset=64, u64 data_offset,
// u64 data_size, u64 0}; then one 32-byte record per chunk {u64 offset into
// data, u32 doc_id, u32 source_len, u32 heading_len, u32 text_len,
// u32 tokens, u32 0}; then the data: source, heading, text back to back.
// ChunkStore is immutable after Open and safe to read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mapped_file.h"
#include "status.h"

namespace folio {

struct ChunkView {
  uint32_t id = 0;
  uint32_t doc_id = 0;        // index of the source document (same source, same id)
  std::string_view source;    // these views point into the mapping: valid while
  std::string_view heading;   // the ChunkStore (or the snapshot holding it) lives
  std::string_view text;
  uint32_t tokens = 0;
};

class ChunkStoreWriter {
 public:
  // Appends a chunk; its id is the number of chunks added before it.
  void Add(uint32_t doc_id, std::string_view source, std::string_view heading, std::string_view text,
           uint32_t tokens);
  // Writes chunks.bin durably; *bytes and *xxh3 (may be null) describe the file.
  Status Write(const std::string& path, uint64_t documents, uint64_t* bytes, std::string* xxh3) const;
  size_t size() const { return records_.size(); }

 private:
  struct Record {
    uint64_t offset;
    uint32_t doc_id, source_len, heading_len, text_len, tokens, reserved;
  };
  std::vector<Record> records_;
  std::string data_;
};

class ChunkStore {
 public:
  // Maps `path` and checks the header against the file size: O(1), whatever
  // the number of chunks. Each record is bounds-checked when read.
  // InvalidArgument ("index_corrupt") on any inconsistency.
  static Result<ChunkStore> Open(const std::string& path);

  // O(chunks): checks every record's bounds and that all text is valid UTF-8.
  Status VerifyAll() const;

  // The chunk, or nullopt if `id` is out of range or its record points outside
  // the file (a corrupt store never yields bytes outside the mapping).
  std::optional<ChunkView> Get(uint32_t id) const;

  // The first chunk of document `doc_id` (chunks are stored in document
  // order), or nullopt if it has none. O(log chunks).
  std::optional<uint32_t> FirstChunkOf(uint32_t doc_id) const;
  // The chunk ids of document `doc_id`: [first, second), empty if it has
  // none. O(log chunks).
  std::pair<uint32_t, uint32_t> ChunksOf(uint32_t doc_id) const;

  uint64_t size() const { return chunks_; }
  uint64_t documents() const { return documents_; }

 private:
  uint64_t LowerBound(uint64_t doc_id) const;  // the first chunk whose doc_id >= doc_id

  MappedFile file_;
  uint64_t chunks_ = 0;
  uint64_t documents_ = 0;
  const char* records_ = nullptr;
  const char* data_ = nullptr;
  uint64_t data_size_ = 0;
};

}  // namespace folio
