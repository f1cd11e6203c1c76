// llm_response_fuzz.cc: what an OpenAI-compatible upstream answers, through
// the parsing LlmClient::Complete uses (shared/llm_client.h
// ParseCompletionBody / ParseCompletionStream).
// Input: the first byte picks the form, the rest is the 2xx body:
//   'J' a chat.completion JSON body;  'S' a text/event-stream of chunks;
//   'C' the same stream with a client that goes away after its 2nd delta;
//   any other byte: J, S or C by its value.
// Checks: no exception or crash on any body; OK only with the text it
// reports; a stream's text is exactly its deltas in order and does not
// depend on how the body was split; a stream is OK only after [DONE].
#include <string>
#include <vector>

#include "fuzz_util.h"
#include "llm_client.h"

namespace {

using folio::LlmResult;
using folio::Status;

struct StreamRun {
  Status status;
  LlmResult result;
  std::string delivered;
  int deltas = 0;
};

StreamRun RunStream(const std::vector<std::string_view>& pieces, int gone_after) {
  StreamRun run;
  run.result.prompt_tokens = run.result.completion_tokens = -1;  // as TryOnce starts
  std::function<bool(std::string_view)> on_delta = [&](std::string_view d) {
    FUZZ_CHECK(!d.empty(), "an empty delta was delivered");
    run.delivered.append(d);
    return ++run.deltas < gone_after;
  };
  run.status = folio::ParseCompletionStream(pieces, on_delta, &run.result);
  return run;
}

void CheckStatus(const Status& s) {
  if (s.ok()) return;
  const std::string& e = s.error();
  FUZZ_CHECK(e == "upstream_bad_response" || e == "upstream_truncated" || e == "cancelled", s.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char form = "JSC"[data[0] == 'J' ? 0 : data[0] == 'S' ? 1 : data[0] == 'C' ? 2 : data[0] % 3];
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);

  if (form == 'J') {
    LlmResult r;
    r.prompt_tokens = r.completion_tokens = -1;
    Status s = folio::ParseCompletionBody(body, &r);
    if (!s.ok()) FUZZ_CHECK(s.error() == "upstream_bad_response", s.ToString());
    FUZZ_CHECK(r.prompt_tokens >= -1 && r.completion_tokens >= -1, "negative token counts");
    return 0;
  }

  const int gone_after = form == 'C' ? 2 : 1 << 30;
  const uint32_t seed = folio::fuzz::Seed(body);
  const StreamRun whole = RunStream({body}, gone_after);
  CheckStatus(whole.status);
  FUZZ_CHECK(whole.result.text == whole.delivered, "the text is not the deltas delivered");
  FUZZ_CHECK(whole.result.prompt_tokens >= -1 && whole.result.completion_tokens >= -1, "negative token counts");
  if (whole.status.error() == "cancelled") FUZZ_CHECK(whole.deltas == gone_after, "cancelled without the client going");
  if (whole.status.ok()) FUZZ_CHECK(body.find("[DONE]") != body.npos, "OK without [DONE]");
  for (size_t max_piece : {1u, 7u, 64u}) {
    StreamRun split = RunStream(folio::fuzz::Pieces(body, max_piece, seed), gone_after);
    FUZZ_CHECK(split.status.error() == whole.status.error() && split.delivered == whole.delivered &&
                   split.result.finish_reason == whole.result.finish_reason &&
                   split.result.model == whole.result.model &&
                   split.result.prompt_tokens == whole.result.prompt_tokens &&
                   split.result.completion_tokens == whole.result.completion_tokens,
               "the stream's outcome depends on how the body was split");
  }
  return 0;
}
