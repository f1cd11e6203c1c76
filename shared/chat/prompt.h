// prompt.h: assembling what the LLM is sent — the system prompt, the
// retrieved passages fenced as reference material, the conversation history
// and the question — each within its token budget (token_estimate.h).
// Retrieved text and user messages are data: any fence marker inside them
// is defused, so they can never close the fence and speak as instructions.
// Pure functions and value types; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "status.h"

namespace folio {

struct ChatMessage {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

// Another section of a passage's document (an answer may sit beside the
// section that was found).
struct RelatedSection {
  std::string heading;
  std::string text;
};

struct Passage {
  std::string source;
  std::string heading;
  std::string text;
  double score = 0;
  // The other chunks of the same document, in document order (a few at
  // most): what the offline answer may also quote. Not sent to the LLM.
  std::vector<RelatedSection> related;
};

struct PromptBudgets {
  size_t context_tokens = 2000;   // MAX_TOKENS_CONTEXT: all passages together
  size_t history_tokens = 500;    // MAX_TOKENS_HISTORY: earlier turns kept, newest first
  size_t response_tokens = 600;   // MAX_TOKENS_RESPONSE: the LLM's max_tokens
  size_t max_passages = 3;        // MAX_RETRIEVAL_DOCS
};

struct Prompt {
  std::vector<ChatMessage> messages;  // ready for /chat/completions
  size_t system_tokens = 0, context_tokens = 0, history_tokens = 0, question_tokens = 0;
  size_t passages_used = 0, history_messages_used = 0;
  size_t total_tokens() const { return system_tokens + context_tokens + history_tokens + question_tokens; }
};

// The system prompt shipped with folio (PROMPT_FILE overrides it).
std::string DefaultSystemPrompt();

// Reads PROMPT_FILE; "" path → DefaultSystemPrompt(). InvalidArgument when
// the file is unreadable, empty or over 16 KiB.
Result<std::string> LoadSystemPrompt(const std::string& path);

// A short digest of the system prompt and the prompt template version: part
// of the cache key, so a prompt change never serves answers made under the
// old one.
std::string PromptVersion(std::string_view system_prompt);

// `history` is oldest first, alternating user/assistant.
Prompt BuildPrompt(std::string_view system_prompt, const std::vector<Passage>& passages,
                   const std::vector<ChatMessage>& history, std::string_view question, const PromptBudgets& budgets);

// Makes `text` unable to open or close a fence: runs of three or more
// '<'-like or '>'-like characters (look-alikes, and spaces or invisible
// characters between them, included) become '‹' or '›', invisible format
// characters are dropped, and "<|" / "|>" (chat-template special tokens)
// are broken. Everything else is kept as is.
std::string DefuseFences(std::string_view text);

}  // namespace folio
