// hash_embedder.cc: feature extraction, tf aggregation and hashing.
//
// Every feature becomes a 64-bit key: bits 0-1 its kind (unigram, bigram,
// char n-gram), bit 2 its sign, bits 3-20 its idf slot, bits 32-63 its
// vector bucket (fast range reduction). Keys are well mixed (XXH3 for words,
// a 64-bit finaliser for packed n-grams), so these bit fields are independent.
// Weight of a feature = kind weight * (1 + ln tf) * idf. The kind weights were
// tuned on bench/eval/questions.json; changing any of this changes the
// vectors and therefore needs a new name ("hash-v2").
#include "hash_embedder.h"

#include <algorithm>
#include <cmath>
#include <thread>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "text_terms.h"

namespace folio {
namespace {

enum Kind : uint64_t { kUnigram = 1, kBigram = 2, kCharGram = 3 };
// Unigram, bigram, char n-gram. Measured with bench/eval_retrieval on kb/
// (70 questions, hybrid MRR): 1/0.5/0.25 -> 0.865, 1/0.3/0.5 -> 0.879,
// 1/0.5/0.75 -> 0.895 (vector-only hit@1 0.67 -> 0.79), 1/1/0.25 -> 0.831.
constexpr float kKindWeight[4] = {0.0f, 1.0f, 0.5f, 0.75f};
constexpr size_t kMaxCharGramWordBytes = 24;

uint64_t Mix64(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t WithKind(uint64_t hash, Kind kind) { return (hash & ~uint64_t{3}) | kind; }

// Open-addressing counter of feature keys; per thread, reused across calls.
class FeatureCounter {
 public:
  void Add(uint64_t key) {
    if ((used_.size() + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    size_t i = Mix64(key) & mask;
    while (true) {
      Slot& s = slots_[i];
      if (s.key == key) {
        ++s.count;
        return;
      }
      if (s.key == 0) {
        s.key = key;
        s.count = 1;
        used_.push_back(static_cast<uint32_t>(i));
        return;
      }
      i = (i + 1) & mask;
    }
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (uint32_t i : used_) fn(slots_[i].key, slots_[i].count);
  }
  void Clear() {
    for (uint32_t i : used_) slots_[i] = Slot{};
    used_.clear();
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t count = 0;
  };
  void Grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 4096 : old.size() * 2, Slot{});
    std::vector<uint32_t> old_used;
    old_used.swap(used_);
    size_t mask = slots_.size() - 1;
    for (uint32_t j : old_used) {
      size_t i = Mix64(old[j].key) & mask;
      while (slots_[i].key != 0) i = (i + 1) & mask;
      slots_[i] = old[j];
      used_.push_back(static_cast<uint32_t>(i));
    }
  }
  std::vector<Slot> slots_;
  std::vector<uint32_t> used_;
};

// Calls emit(key) for every feature occurrence of `text`.
template <typename Emit>
void ExtractFeatures(std::string_view text, Emit&& emit) {
  std::string scratch;
  uint64_t prev = 0;  // previous term's hash; bigrams skip over stopwords
  ForEachWord(text, [&](std::string_view word) {
    if (IsStopword(word)) return;
    std::string_view stem = Stem(word, &scratch);
    uint64_t h = XXH3_64bits_withSeed(stem.data(), stem.size(), 0x5eed0001);
    emit(WithKind(h, kUnigram));
    if (prev != 0) emit(WithKind(Mix64(prev * 0x9E3779B97F4A7C15ULL ^ h), kBigram));
    prev = h | 1;
    // Character 3- and 4-grams of "<word>", packed into an integer.
    unsigned char padded[kMaxCharGramWordBytes + 2];
    size_t len = std::min(word.size(), kMaxCharGramWordBytes);
    padded[0] = '<';
    std::copy_n(word.data(), len, padded + 1);
    padded[len + 1] = '>';
    size_t plen = len + 2;
    for (size_t n = 3; n <= 4; ++n) {
      for (size_t i = 0; i + n <= plen; ++i) {
        uint64_t packed = n;
        for (size_t k = 0; k < n; ++k) packed = (packed << 8) | padded[i + k];
        emit(WithKind(Mix64(packed ^ 0xC4A5E11D00000000ULL), kCharGram));
      }
    }
  });
}

FeatureCounter& ThreadCounter() {
  thread_local FeatureCounter counter;
  return counter;
}

}  // namespace

HashEmbedder::HashEmbedder(int dimension, std::shared_ptr<const IdfTable> idf)
    : dimension_(std::clamp(dimension, kMinDimension, kMaxDimension)), idf_(std::move(idf)) {}

std::string HashEmbedder::name() const { return idf_ ? "hash-v1+idf" : "hash-v1"; }

void HashEmbedder::EmbedInto(std::string_view text, float* out) const {
  std::fill(out, out + dimension_, 0.0f);
  FeatureCounter& counter = ThreadCounter();
  counter.Clear();
  ExtractFeatures(text, [&](uint64_t key) { counter.Add(key); });
  const uint64_t dim = static_cast<uint64_t>(dimension_);
  counter.ForEach([&](uint64_t key, uint32_t tf) {
    float w = kKindWeight[key & 3] * (1.0f + std::log(static_cast<float>(tf)));
    if (idf_) w *= idf_->Weight(key);
    size_t bucket = static_cast<size_t>(((key >> 32) * dim) >> 32);
    out[bucket] += (key & 4) ? w : -w;
  });
  counter.Clear();
  double norm = 0;
  for (int i = 0; i < dimension_; ++i) norm += static_cast<double>(out[i]) * out[i];
  if (norm > 0) {
    float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int i = 0; i < dimension_; ++i) out[i] *= inv;
  }
}

Status HashEmbedder::EmbedBatch(const std::vector<std::string>& texts, std::vector<std::vector<float>>* out) {
  out->assign(texts.size(), std::vector<float>(dimension_));
  for (size_t i = 0; i < texts.size(); ++i) EmbedInto(texts[i], (*out)[i].data());
  return Status::Ok();
}

void HashEmbedder::FeatureKeys(std::string_view text, std::vector<uint64_t>* keys) {
  FeatureCounter& counter = ThreadCounter();
  counter.Clear();
  ExtractFeatures(text, [&](uint64_t key) { counter.Add(key); });
  counter.ForEach([&](uint64_t key, uint32_t) { keys->push_back(key); });
  counter.Clear();
}

std::shared_ptr<const IdfTable> HashEmbedder::ComputeIdf(const std::vector<std::string>& texts, int threads) {
  threads = std::max(1, std::min<int>(threads, static_cast<int>(texts.size() / 256) + 1));
  std::vector<std::vector<uint32_t>> partial(threads, std::vector<uint32_t>(IdfTable::kBuckets, 0));
  auto work = [&](int t) {
    std::vector<uint64_t> keys;
    // last_doc[slot] = 1 + the last document that counted this slot, so two
    // features sharing a slot count once per document (no sorting needed).
    std::vector<uint32_t> last_doc(IdfTable::kBuckets, 0);
    for (size_t i = t; i < texts.size(); i += threads) {
      keys.clear();
      FeatureKeys(texts[i], &keys);
      const uint32_t stamp = static_cast<uint32_t>(i + 1);
      for (uint64_t k : keys) {
        uint32_t slot = IdfTable::Slot(k);
        if (last_doc[slot] != stamp) {
          last_doc[slot] = stamp;
          ++partial[t][slot];
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (int t = 1; t < threads; ++t) {
    for (uint32_t s = 0; s < IdfTable::kBuckets; ++s) partial[0][s] += partial[t][s];
  }
  return IdfTable::FromDocumentFrequencies(partial[0], texts.size());
}

}  // namespace folio
