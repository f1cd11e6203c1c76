// embedder_factory.cc: kind name -> Embedder.
#include "embedder_factory.h"

#include "hash_embedder.h"
#include "openai_embedder.h"

namespace folio {

namespace {

// text-embedding-3-large has 3072; leave room for other models.
constexpr int kMaxOpenAiDimension = 16384;

}  // namespace

OpenAiEndpoint OpenAiEndpointOf(const Settings& settings) {
  return {settings.embedding_base_url.empty() ? settings.llm_base_url : settings.embedding_base_url,
          settings.openai_api_key, settings.embedding_model};
}

Result<std::unique_ptr<Embedder>> MakeEmbedder(const std::string& kind, const EmbedderOptions& options) {
  return MakeEmbedder(kind, options, options.openai);
}

Result<std::unique_ptr<Embedder>> MakeEmbedder(const std::string& kind, const EmbedderOptions& options,
                                               const OpenAiEndpoint& endpoint) {
  if (kind == "hash") {
    if (options.dimension < HashEmbedder::kMinDimension || options.dimension > HashEmbedder::kMaxDimension) {
      return InvalidArgument("bad_dimension", "hash embedder dimension must be between " +
                                                  std::to_string(HashEmbedder::kMinDimension) + " and " +
                                                  std::to_string(HashEmbedder::kMaxDimension));
    }
    return std::unique_ptr<Embedder>(new HashEmbedder(options.dimension, options.idf));
  }
  if (kind == "openai") {
    if (options.dimension < 0 || options.dimension > kMaxOpenAiDimension) {
      return InvalidArgument("bad_dimension", "openai embedder dimension must be between 0 (learn) and " +
                                                  std::to_string(kMaxOpenAiDimension));
    }
    OpenAiEmbedderOptions o;
    o.base_url = endpoint.base_url;
    o.api_key = endpoint.api_key;
    o.model = endpoint.model;
    o.dimension = options.dimension;
    // Only the text-embedding-3 family can be asked for a size; other
    // servers may reject the field, so they must match options.dimension.
    o.request_dimensions = options.dimension > 0 && endpoint.model.rfind("text-embedding-3", 0) == 0;
    return std::unique_ptr<Embedder>(new OpenAiEmbedder(std::move(o)));
  }
  return InvalidArgument("unknown_embedder", "unknown embedder '" + kind + "' (want hash or openai)");
}

}  // namespace folio
