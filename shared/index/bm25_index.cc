// bm25_index.cc: writer and mmap reader of bm25.bin (layout in the header).
// Scores accumulate in a per-thread dense array indexed by chunk id plus a
// list of touched ids, so a search allocates little after warm-up and costs
// O(sum of the query terms' posting lengths) — of the postings in range for
// SearchRange, found by binary search since postings are sorted by id.
#include "bm25_index.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "coding.h"
#include "file_util.h"

namespace folio {
namespace {

constexpr char kMagic[8] = {'F', 'O', 'L', 'I', 'O', 'B', 'M', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kHeaderBytes = 104;
constexpr uint64_t kTermBytes = 32;
constexpr uint64_t kPostingBytes = 8;

uint64_t TermHash(std::string_view t) { return XXH3_64bits(t.data(), t.size()); }

}  // namespace

void Bm25Writer::AddDocument(const std::vector<std::string>& terms) {
  uint32_t doc = static_cast<uint32_t>(doc_lengths_.size());
  doc_lengths_.push_back(static_cast<uint32_t>(terms.size()));
  for (const std::string& t : terms) {
    auto& list = postings_[t];
    if (!list.empty() && list.back().first == doc) {
      ++list.back().second;
    } else {
      list.emplace_back(doc, 1);
    }
  }
}

Status Bm25Writer::Write(const std::string& path, float k1, float b, uint64_t* bytes, std::string* xxh3) const {
  struct Entry {
    uint64_t hash;
    const std::string* term;
    const std::vector<std::pair<uint32_t, uint32_t>>* list;
  };
  std::vector<Entry> entries;
  entries.reserve(postings_.size());
  for (const auto& [term, list] : postings_) entries.push_back({TermHash(term), &term, &list});
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : *a.term < *b.term;
  });
  uint64_t docs = doc_lengths_.size(), terms = entries.size(), postings = 0, strings_size = 0, total_len = 0;
  for (const Entry& e : entries) {
    postings += e.list->size();
    strings_size += e.term->size();
  }
  for (uint32_t len : doc_lengths_) total_len += len;
  double avgdl = docs ? static_cast<double>(total_len) / docs : 0;
  if (avgdl <= 0) avgdl = 1;
  uint64_t terms_offset = kHeaderBytes;
  uint64_t strings_offset = terms_offset + terms * kTermBytes;
  uint64_t postings_offset = (strings_offset + strings_size + 7) & ~uint64_t{7};
  uint64_t doclens_offset = postings_offset + postings * kPostingBytes;

  FileWriter w;
  Status s = w.Open(path);
  if (!s.ok()) return s;
  uint32_t version = kVersion, zero32 = 0;
  uint64_t zero = 0;
  w.Append(kMagic, sizeof(kMagic));
  w.AppendPod(version);
  w.AppendPod(zero32);
  for (uint64_t v : {docs, terms, postings}) w.AppendPod(v);
  w.AppendPod(avgdl);
  w.AppendPod(k1);
  w.AppendPod(b);
  for (uint64_t v : {terms_offset, strings_offset, strings_size, postings_offset, doclens_offset, zero}) w.AppendPod(v);
  uint64_t first = 0;
  uint32_t string_offset = 0;
  for (const Entry& e : entries) {
    w.AppendPod(e.hash);
    w.AppendPod(first);
    w.AppendPod(static_cast<uint32_t>(e.list->size()));
    w.AppendPod(string_offset);
    w.AppendPod(static_cast<uint32_t>(e.term->size()));
    w.AppendPod(zero32);
    first += e.list->size();
    string_offset += static_cast<uint32_t>(e.term->size());
  }
  for (const Entry& e : entries) w.Append(*e.term);
  w.Append(&zero, postings_offset - (strings_offset + strings_size));
  for (const Entry& e : entries) {
    for (const auto& [chunk, tf] : *e.list) {
      w.AppendPod(chunk);
      w.AppendPod(tf);
    }
  }
  w.Append(doc_lengths_.data(), doc_lengths_.size() * sizeof(uint32_t));
  s = w.Close();
  if (bytes) *bytes = w.bytes_written();
  if (xxh3) *xxh3 = w.xxh3_hex();
  return s;
}

Result<Bm25Index> Bm25Index::Open(const std::string& path) {
  Result<MappedFile> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  auto corrupt = [&](const std::string& why) { return InvalidArgument("index_corrupt", path + ": " + why); };
  const char* p = file->data();
  const uint64_t size = file->size();
  if (size < kHeaderBytes) return corrupt("shorter than its header");
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) return corrupt("bad magic");
  if (LoadUnaligned<uint32_t>(p + 8) != kVersion) return corrupt("unsupported bm25 version");
  Bm25Index ix;
  ix.docs_ = LoadUnaligned<uint64_t>(p + 16);
  ix.terms_ = LoadUnaligned<uint64_t>(p + 24);
  ix.postings_ = LoadUnaligned<uint64_t>(p + 32);
  ix.avgdl_ = LoadUnaligned<double>(p + 40);
  ix.k1_ = LoadUnaligned<float>(p + 48);
  ix.b_ = LoadUnaligned<float>(p + 52);
  uint64_t terms_offset = LoadUnaligned<uint64_t>(p + 56), strings_offset = LoadUnaligned<uint64_t>(p + 64);
  uint64_t strings_size = LoadUnaligned<uint64_t>(p + 72), postings_offset = LoadUnaligned<uint64_t>(p + 80);
  uint64_t doclens_offset = LoadUnaligned<uint64_t>(p + 88);
  // Each count is bounded by the file size before it is multiplied.
  if (ix.docs_ == 0 || ix.docs_ > size / 4 || ix.docs_ > UINT32_MAX) return corrupt("bad document count");
  if (ix.terms_ > size / kTermBytes || ix.postings_ > size / kPostingBytes) return corrupt("bad term or posting count");
  if (!std::isfinite(ix.avgdl_) || ix.avgdl_ <= 0 || !std::isfinite(ix.k1_) || ix.k1_ < 0 || ix.k1_ > 10 ||
      !std::isfinite(ix.b_) || ix.b_ < 0 || ix.b_ > 1) {
    return corrupt("bad BM25 parameters");
  }
  if (terms_offset != kHeaderBytes || strings_offset != terms_offset + ix.terms_ * kTermBytes ||
      strings_size > size || postings_offset != ((strings_offset + strings_size + 7) & ~uint64_t{7}) ||
      doclens_offset != postings_offset + ix.postings_ * kPostingBytes ||
      doclens_offset > size || size - doclens_offset != ix.docs_ * 4) {
    return corrupt("section offsets do not match the file size (truncated?)");
  }
  ix.file_ = std::move(*file);
  const char* base = ix.file_.data();
  ix.term_table_ = base + terms_offset;
  ix.strings_ = base + strings_offset;
  ix.strings_size_ = strings_size;
  ix.posting_table_ = base + postings_offset;
  ix.doc_lengths_ = base + doclens_offset;
  return ix;
}

bool Bm25Index::Find(std::string_view term, Term* out) const {
  uint64_t h = TermHash(term);
  uint64_t lo = 0, hi = terms_;
  while (lo < hi) {  // first entry with hash >= h
    uint64_t mid = lo + (hi - lo) / 2;
    if (LoadUnaligned<uint64_t>(term_table_ + mid * kTermBytes) < h) lo = mid + 1; else hi = mid;
  }
  for (uint64_t i = lo; i < terms_; ++i) {
    const char* e = term_table_ + i * kTermBytes;
    if (LoadUnaligned<uint64_t>(e) != h) break;
    uint64_t str_off = LoadUnaligned<uint32_t>(e + 20), str_len = LoadUnaligned<uint32_t>(e + 24);
    if (str_off > strings_size_ || str_len > strings_size_ - str_off) return false;
    if (std::string_view(strings_ + str_off, str_len) != term) continue;
    out->first_posting = LoadUnaligned<uint64_t>(e + 8);
    out->df = LoadUnaligned<uint32_t>(e + 16);
    if (out->first_posting > postings_ || out->df > postings_ - out->first_posting) return false;
    return true;
  }
  return false;
}

float Bm25Index::Idf(const Term& term) const {
  const double N = static_cast<double>(docs_), df = term.df;
  return static_cast<float>(std::log(1.0 + (N - df + 0.5) / (df + 0.5)));
}

void Bm25Index::Accumulate(const Term& term, uint32_t begin, uint32_t end, std::vector<float>* acc,
                           std::vector<uint32_t>* touched) const {
  const float idf = Idf(term);
  const char* list = posting_table_ + term.first_posting * kPostingBytes;
  auto chunk_at = [&](uint32_t i) { return LoadUnaligned<uint32_t>(list + uint64_t{i} * kPostingBytes); };
  uint32_t lo = 0, hi = term.df;
  if (begin > 0) {  // postings are sorted by id: skip to the first >= begin
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo) / 2;
      if (chunk_at(mid) < begin) lo = mid + 1; else hi = mid;
    }
  }
  for (uint32_t i = lo; i < term.df; ++i) {
    uint32_t chunk = chunk_at(i);
    if (chunk >= end) break;
    if (chunk >= docs_) continue;  // corrupt posting: ignore rather than read out of bounds
    float tf = static_cast<float>(LoadUnaligned<uint32_t>(list + uint64_t{i} * kPostingBytes + 4));
    float dl = static_cast<float>(LoadUnaligned<uint32_t>(doc_lengths_ + uint64_t{chunk} * 4));
    float norm = k1_ * (1.0f - b_ + b_ * dl / static_cast<float>(avgdl_));
    float s = idf * tf * (k1_ + 1.0f) / (tf + norm);
    if (!(s > 0) || !std::isfinite(s)) continue;
    if ((*acc)[chunk] == 0.0f) touched->push_back(chunk);
    (*acc)[chunk] += s;
  }
}

std::vector<Bm25Hit> Bm25Index::Ranked(const std::vector<std::string>& query_terms, uint32_t begin, uint32_t end,
                                       size_t n) const {
  thread_local std::vector<float> acc;
  thread_local std::vector<uint32_t> touched;
  if (acc.size() < docs_) acc.resize(docs_, 0.0f);
  touched.clear();
  std::vector<std::string_view> distinct(query_terms.begin(), query_terms.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  for (std::string_view t : distinct) {
    Term term;
    if (Find(t, &term) && term.df > 0) Accumulate(term, begin, end, &acc, &touched);
  }
  std::vector<Bm25Hit> hits;
  hits.reserve(touched.size());
  for (uint32_t c : touched) {
    hits.push_back({c, acc[c]});
    acc[c] = 0.0f;
  }
  auto better = [](const Bm25Hit& a, const Bm25Hit& b) { return a.score != b.score ? a.score > b.score : a.chunk < b.chunk; };
  if (hits.size() > n) {
    std::partial_sort(hits.begin(), hits.begin() + n, hits.end(), better);
    hits.resize(n);
  } else {
    std::sort(hits.begin(), hits.end(), better);
  }
  return hits;
}

std::vector<Bm25Hit> Bm25Index::Search(const std::vector<std::string>& query_terms, size_t n) const {
  return Ranked(query_terms, 0, static_cast<uint32_t>(docs_), n);
}

std::vector<Bm25Hit> Bm25Index::SearchRange(const std::vector<std::string>& query_terms, uint32_t begin, uint32_t end,
                                            size_t n) const {
  return Ranked(query_terms, begin, std::min<uint32_t>(end, static_cast<uint32_t>(docs_)), n);
}

double Bm25Index::MaxScore(const std::vector<std::string>& query_terms) const {
  std::vector<std::string_view> distinct(query_terms.begin(), query_terms.end());
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  double max = 0;
  for (std::string_view t : distinct) {
    Term term;
    if (Find(t, &term) && term.df > 0) max += static_cast<double>(Idf(term)) * (k1_ + 1.0);
  }
  return max;
}

Status Bm25Index::VerifyAll() const {
  auto corrupt = [&](const std::string& why) { return InvalidArgument("index_corrupt", file_.path() + ": " + why); };
  uint64_t expected_first = 0, prev_hash = 0;
  for (uint64_t i = 0; i < terms_; ++i) {
    const char* e = term_table_ + i * kTermBytes;
    uint64_t h = LoadUnaligned<uint64_t>(e), first = LoadUnaligned<uint64_t>(e + 8);
    uint32_t df = LoadUnaligned<uint32_t>(e + 16);
    uint64_t str_off = LoadUnaligned<uint32_t>(e + 20), str_len = LoadUnaligned<uint32_t>(e + 24);
    if (i > 0 && h < prev_hash) return corrupt("terms not sorted");
    if (str_off > strings_size_ || str_len > strings_size_ - str_off) return corrupt("term string out of bounds");
    if (TermHash(std::string_view(strings_ + str_off, str_len)) != h) return corrupt("term hash mismatch");
    if (first != expected_first || df > postings_ - first) return corrupt("posting range out of bounds");
    for (uint32_t k = 0; k < df; ++k) {
      if (LoadUnaligned<uint32_t>(posting_table_ + (first + k) * kPostingBytes) >= docs_) return corrupt("posting chunk out of range");
    }
    expected_first = first + df;
    prev_hash = h;
  }
  if (expected_first != postings_) return corrupt("posting count mismatch");
  return Status::Ok();
}

}  // namespace folio
