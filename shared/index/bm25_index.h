// bm25_index.h: bm25.bin, the keyword half of hybrid search: Okapi BM25
// (k1 1.2, b 0.75) over IndexTerms() of each chunk, read through a
// read-only mmap. Layout (little-endian): 104-byte header {"FOLIOBM1",
// u32 version=1, u32 0, u64 docs, u64 terms, u64 postings, f64 avgdl,
// f32 k1, f32 b, u64 terms_offset, u64 strings_offset, u64 strings_size,
// u64 postings_offset, u64 doclens_offset, u64 0}; term entries sorted by
// (XXH3-64 of the term, term) {u64 hash, u64 first_posting, u32 df,
// u32 string_offset, u32 string_len, u32 0}; the term strings; padding to 8;
// postings {u32 chunk, u32 tf} sorted by chunk within a term; u32 doc lengths.
// Bm25Index is immutable after Open and safe to search from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mapped_file.h"
#include "status.h"

namespace folio {

class Bm25Writer {
 public:
  // Adds the next document (chunk ids are 0, 1, ... in call order).
  void AddDocument(const std::vector<std::string>& terms);
  Status Write(const std::string& path, float k1, float b, uint64_t* bytes, std::string* xxh3) const;
  size_t documents() const { return doc_lengths_.size(); }

 private:
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint32_t>>> postings_;
  std::vector<uint32_t> doc_lengths_;
};

struct Bm25Hit {
  uint32_t chunk = 0;
  float score = 0;
};

class Bm25Index {
 public:
  // Maps `path`; checks the header and section offsets against the file size
  // in O(1). Postings are bounds-checked as they are read.
  static Result<Bm25Index> Open(const std::string& path);

  // O(index size): term order, posting ranges and chunk ids, doc lengths.
  Status VerifyAll() const;

  // The top `n` chunks for the query terms (duplicates count once), best
  // first, ties by chunk id. Chunks matching no term are not returned.
  std::vector<Bm25Hit> Search(const std::vector<std::string>& query_terms, size_t n) const;

  // The same over the ids in [begin, end) only (the chunks of one
  // document): O(query terms × log postings + the postings in range).
  std::vector<Bm25Hit> SearchRange(const std::vector<std::string>& query_terms, uint32_t begin, uint32_t end,
                                   size_t n) const;

  // The score no document can reach for these terms: the sum over the
  // distinct terms the index knows of idf × (k1 + 1), BM25's limit as a
  // term's frequency grows. Dividing a hit's score by it says how much of
  // the query it matches, comparably across queries and indexes: a strong
  // match of every term comes close to 1, one common word of five stays
  // near 0. 0 if no term is known.
  double MaxScore(const std::vector<std::string>& query_terms) const;

  uint64_t documents() const { return docs_; }
  uint64_t terms() const { return terms_; }

 private:
  struct Term {
    uint64_t first_posting = 0;
    uint32_t df = 0;
  };
  bool Find(std::string_view term, Term* out) const;
  float Idf(const Term& term) const;
  // Adds term's BM25 contribution for its postings whose id is in
  // [begin, end) to acc (first touch recorded in *touched).
  void Accumulate(const Term& term, uint32_t begin, uint32_t end, std::vector<float>* acc,
                  std::vector<uint32_t>* touched) const;
  std::vector<Bm25Hit> Ranked(const std::vector<std::string>& query_terms, uint32_t begin, uint32_t end,
                              size_t n) const;

  MappedFile file_;
  uint64_t docs_ = 0, terms_ = 0, postings_ = 0;
  double avgdl_ = 1;
  float k1_ = 1.2f, b_ = 0.75f;
  const char* term_table_ = nullptr;
  const char* strings_ = nullptr;
  uint64_t strings_size_ = 0;
  const char* posting_table_ = nullptr;
  const char* doc_lengths_ = nullptr;
};

}  // namespace folio
