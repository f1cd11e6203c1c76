// embedder.h: turns text into fixed-size, L2-normalised float vectors.
// Two implementations: HashEmbedder (built in, offline, deterministic) and
// OpenAiEmbedder (any OpenAI-compatible /v1/embeddings endpoint).
// An Embedder is safe to call from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

class Embedder {
 public:
  virtual ~Embedder() = default;

  // Name recorded in the index manifest, e.g. "hash-v1" or "openai:text-embedding-3-small".
  // The worker refuses an index whose manifest names another embedder.
  virtual std::string name() const = 0;
  virtual int dimension() const = 0;
  // True when Embed() waits on the network (a remote API, with its timeouts
  // and retries): the worker then embeds on a thread that may wait.
  virtual bool remote() const { return false; }

  // Embeds each text; on success out->size() == texts.size() and every
  // vector has dimension() floats with unit L2 norm (or all zeros for a
  // text with no features).
  virtual Status EmbedBatch(const std::vector<std::string>& texts,
                            std::vector<std::vector<float>>* out) = 0;

  // Convenience for one text.
  Result<std::vector<float>> Embed(std::string_view text) {
    std::vector<std::vector<float>> out;
    Status s = EmbedBatch({std::string(text)}, &out);
    if (!s.ok()) return s;
    return std::move(out[0]);
  }
};

}  // namespace folio
