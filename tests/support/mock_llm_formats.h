// mock_llm_formats.h: the OpenAI wire formats the mock LLM answers with
// (chat completion, stream chunk, embeddings list, error body) and its
// deterministic replies and vectors. Pure functions, safe from any thread.
// Internal to tests/support: only mock_llm.cc uses it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mock_llm.h"
#include "status.h"

namespace folio::test {

// {"error": {"message", "type", "param": null, "code"}} as OpenAI sends for `status`.
nlohmann::json OpenAiErrorBody(int status);

// "Answer based on context: " + the first 60 bytes (cut on a UTF-8
// boundary) of the question: the last user message of a chat request
// (string content or an array of {"type":"text","text":...} parts), from
// after its last "\nQuestion: " when it has one (folio's layout).
std::string EchoReply(const nlohmann::json& request);
// What a system message of `request` instructs ("INSTRUCTION: say <words>"
// → <words>), if one does (MockBehaviour::obey_system).
std::optional<std::string> SystemInstruction(const nlohmann::json& request);

// The reply split into stream tokens: each word with the spaces after it,
// so concatenating the tokens gives the reply back exactly.
std::vector<std::string> SplitTokens(const std::string& reply);

// A rough prompt token count (bytes / 4 + one per message).
int PromptTokens(const nlohmann::json& request);

nlohmann::json Usage(int prompt_tokens, int completion_tokens);

// A non-streaming "chat.completion" object.
nlohmann::json ChatCompletion(const std::string& id, int64_t created, const std::string& model,
                              const std::string& reply, int prompt_tokens, int completion_tokens);

// One "chat.completion.chunk" with choices[0] = {delta, finish_reason};
// `with_usage` adds "usage": null, as OpenAI does when include_usage is on.
nlohmann::json ChatChunk(const std::string& id, int64_t created, const std::string& model, const nlohmann::json& delta,
                         const nlohmann::json& finish_reason, bool with_usage);

// The texts of an embeddings request's "input" (a string or an array of
// strings). InvalidArgument for anything else or an empty array.
Result<std::vector<std::string>> EmbeddingInputs(const nlohmann::json& request);

// The embeddings "list" for `texts` at `dimension`, with the behaviour's
// faults applied (vector_count_delta, non_numeric, reverse_order).
// REQUIRES: !texts.empty().
nlohmann::json EmbeddingsResponse(const std::vector<std::string>& texts, int dimension, const MockBehaviour& b,
                                  const std::string& model);

// A deterministic, unnormalised vector in [-1, 1)^dimension from a hash of `text`.
std::vector<float> MockVector(const std::string& text, int dimension);

// A POST /_mock/script body, parsed and checked (format in mock_llm.h).
struct MockScript {
  struct Lane {
    std::optional<std::vector<MockBehaviour>> queue;
    std::optional<MockBehaviour> fallback;  // "default"
  };
  Lane lanes[2];  // [0] chat, [1] embeddings
  bool append = false;
  std::optional<std::string> api_key, model;
  std::optional<int> embedding_dimension;
};

// InvalidArgument ("bad_script", or a behaviour's error) for unknown keys,
// wrong types or a non-positive dimension.
Result<MockScript> ParseMockScript(const nlohmann::json& script);

}  // namespace folio::test
