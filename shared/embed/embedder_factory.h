// embedder_factory.h: builds the Embedder named in config or on a command
// line. The one place that knows the list of embedder kinds.
// Stateless; safe from any thread.
#pragma once

#include <memory>
#include <string>

#include "config.h"
#include "embedder.h"
#include "idf_table.h"
#include "status.h"

namespace folio {

// Where an "openai" embedder sends its requests.
struct OpenAiEndpoint {
  std::string base_url;  // up to "/v1"
  std::string api_key;   // secret: never log it
  std::string model;
};

// From the settings: EMBEDDING_BASE_URL (else LLM_BASE_URL),
// EMBEDDING_MODEL, OPENAI_API_KEY (may be empty).
OpenAiEndpoint OpenAiEndpointOf(const Settings& settings);

struct EmbedderOptions {
  int dimension = 384;
  // For "hash": the idf table of the index being queried (IndexSnapshot::idf()),
  // or the one computed at ingest; null means no idf weighting.
  std::shared_ptr<const IdfTable> idf;
  // For "openai": where to send requests (OpenAiEndpointOf).
  OpenAiEndpoint openai;
};

// kind "hash" -> HashEmbedder; "openai" -> OpenAiEmbedder for options.openai
// (`endpoint` in the three-argument form) expecting
// options.dimension floats per vector (0: learn it from the first response;
// text-embedding-3-* models are asked for that size); anything else ->
// InvalidArgument. InvalidArgument ("bad_dimension") if the dimension is out
// of range. Nothing is sent upstream here.
Result<std::unique_ptr<Embedder>> MakeEmbedder(const std::string& kind, const EmbedderOptions& options = {});
Result<std::unique_ptr<Embedder>> MakeEmbedder(const std::string& kind, const EmbedderOptions& options,
                                               const OpenAiEndpoint& endpoint);

}  // namespace folio
