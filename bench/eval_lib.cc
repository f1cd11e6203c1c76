// eval_lib.cc: question loading, the two rankings, the answer checks.
#include "eval_lib.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kb_reader.h"
#include "text_terms.h"

namespace folio {
namespace {

using nlohmann::json;

std::vector<std::string> StringArray(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const json& s : *it)
    if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}

std::string StringField(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> SortedWords(std::string_view text) {
  std::vector<std::string> words;
  ForEachWord(text, [&](std::string_view w) { words.emplace_back(w); });
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  return words;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

}  // namespace

Result<std::vector<EvalQuestion>> LoadEvalQuestions(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("bad_questions", "cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  json j = json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_array()) return InvalidArgument("bad_questions", path + " is not a JSON array");
  std::vector<EvalQuestion> out;
  for (const json& q : j) {
    if (!q.is_object()) return InvalidArgument("bad_questions", path + ": an entry is not an object");
    EvalQuestion e{StringField(q, "question"), StringField(q, "kind"), StringField(q, "split"),
                   StringArray(q, "sources"), StringArray(q, "expect")};
    if (e.text.empty() || e.sources.empty()) return InvalidArgument("bad_questions", path + ": a question without text or sources");
    out.push_back(std::move(e));
  }
  return out;
}

bool AnswerIsClean(std::string_view answer, std::string* debris) {
  static const std::regex kDebris[] = {
      std::regex(R"((^|[\s(])(\*\*|~~)[A-Za-z0-9][^*~]*[A-Za-z0-9.!?)](\*\*|~~)([\s.,;:!?)]|$))"),  // **bold**, ~~struck~~
      std::regex(R"(`|\]\(|!\[)"),                                   // code spans, links, images
      std::regex(R"((^|\s)\|\s[^|\n]*\s\|(\s|$))"),                   // table pipes around a cell
      std::regex(R"(</?(a|b|br|code|div|em|i|img|li|p|pre|span|strong|table|td|th|tr|ul|ol)( [^>]*)?/?>)"),  // HTML
      std::regex(R"((^|\n)[ \t]*(#{1,6}[ \t]|>))"),              // heading hashes, quotation markers
      std::regex(R"((^|[\s(])_[A-Za-z][^_\s]*(\s[^_\s]+)+_([\s.,;:!?)]|$))"),  // _emphasised words_ (_x_ may be a name)
      std::regex(R"(\{(caret|tilde|litdd)\}|linkgit:|::(\s|$))"),  // AsciiDoc attributes and links, reST literal markers
      std::regex(R"((^|\s)(={3,}|-{4,}|\^{4,}|~{4,}|\+-{3,})(\s|$))"),  // underlines, rules, grid tables
      std::regex(R"(\\[*_`#|\[\]])"),                            // escapes left behind
  };
  for (const std::regex& r : kDebris) {
    std::match_results<std::string_view::const_iterator> m;
    if (std::regex_search(answer.begin(), answer.end(), m, r)) {
      if (debris) *debris = m.str();
      return false;
    }
  }
  return true;
}

bool AnswerIsCorrect(std::string_view answer, const EvalQuestion& q) {
  std::string a = Lower(answer);
  return std::any_of(q.expect.begin(), q.expect.end(), [&](const std::string& e) { return a.find(Lower(e)) != std::string::npos; });
}

Evaluation::~Evaluation() {
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

Result<std::unique_ptr<Evaluation>> Evaluation::Open(const std::string& kb_dir, const IndexBuildOptions& options) {
  std::unique_ptr<Evaluation> e(new Evaluation());
  char tmpl[] = "/tmp/folio-eval-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Internal("eval_tmp", "cannot create a temporary directory");
  e->temp_dir_ = tmpl;
  Result<KbContents> kb = ReadKb(kb_dir);
  if (!kb.ok()) return kb.status();
  for (const KbDocument& d : kb->documents) e->file_words_[d.source] = SortedWords(d.text);
  Result<BuildReport> report = BuildIndexFromKb(*kb, e->temp_dir_ + "/index", options);
  if (!report.ok()) return report.status();
  Result<std::shared_ptr<IndexSnapshot>> snap = IndexSnapshot::Open(e->temp_dir_ + "/index");
  if (!snap.ok()) return snap.status();
  e->index_ = std::move(*snap);
  if (e->index_->has_vectors()) {
    Result<std::unique_ptr<Embedder>> embedder = e->index_->MakeQueryEmbedder();
    if (!embedder.ok()) return embedder.status();
    e->embedder_ = std::move(*embedder);
  }

  Bm25Writer plain;
  const ChunkStore& chunks = e->index_->chunks();
  for (uint32_t i = 0; i < chunks.size(); ++i) {
    std::optional<ChunkView> v = chunks.Get(i);
    if (!v) return Internal("eval_chunk", "chunk " + std::to_string(i) + " unreadable");
    plain.AddDocument(IndexTerms(std::string(v->heading) + "\n" + std::string(v->text), Stemming::kLight));
  }
  const std::string plain_path = e->temp_dir_ + "/plain-bm25.bin";
  if (Status s = plain.Write(plain_path, 1.2f, 0.75f, nullptr, nullptr); !s.ok()) return s;
  Result<Bm25Index> opened = Bm25Index::Open(plain_path);
  if (!opened.ok()) return opened.status();
  e->plain_ = std::make_unique<Bm25Index>(std::move(*opened));
  return e;
}

RankedAnswer Evaluation::Bm25(const EvalQuestion& q) const {
  std::vector<Passage> top;
  std::set<std::string, std::less<>> files;
  for (const Bm25Hit& h : plain_->Search(IndexTerms(q.text, Stemming::kLight), 400)) {
    std::optional<ChunkView> v = index_->chunks().Get(h.chunk);
    if (!v || !files.insert(std::string(v->source)).second) continue;
    top.push_back({std::string(v->source), std::string(v->heading), std::string(v->text), h.score, {}});
    if (top.size() == 5) break;
  }
  return Judge(q, top);
}

RankedAnswer Evaluation::Folio(const EvalQuestion& q) const {
  std::vector<Passage> top;
  Result<std::vector<float>> vector = std::vector<float>{};
  if (embedder_) vector = embedder_->Embed(q.text);
  std::span<const float> query_vector;
  if (vector.ok()) query_vector = *vector;
  SearchOptions options;
  options.fusion = fusion_;
  options.keyword = keyword_;
  auto started = std::chrono::steady_clock::now();
  Result<std::vector<SearchHit>> hits = index_->Search(q.text, query_vector, options);
  search_ms_.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
  if (hits.ok()) top = index_->PassagesFor(*hits, kRelatedSections);
  return Judge(q, top);
}

RankedAnswer Evaluation::Judge(const EvalQuestion& q, const std::vector<Passage>& top) const {
  RankedAnswer r;
  for (size_t i = 0; i < top.size() && r.rank == 0; ++i) {
    if (std::find(q.sources.begin(), q.sources.end(), top[i].source) != q.sources.end()) r.rank = static_cast<int>(i) + 1;
  }
  std::vector<Passage> passages(top.begin(), top.begin() + std::min(top.size(), kAnswerPassages));
  ExtractiveAnswer a = ComposeExtractiveAnswer(q.text, passages, FallbackReason::kNotConfigured);
  r.answer = a.text;
  r.clean = AnswerIsClean(a.text, &r.debris);
  r.correct = AnswerIsCorrect(a.text, q);
  r.supported = Supported(a, passages, q);
  return r;
}

bool Evaluation::Supported(const ExtractiveAnswer& a, const std::vector<Passage>& passages, const EvalQuestion& q) const {
  for (const AnswerPart& part : a.parts) {
    if (part.passage >= passages.size()) continue;
    const std::string& source = passages[part.passage].source;
    if (std::find(q.sources.begin(), q.sources.end(), source) == q.sources.end()) continue;
    if (a.text.find("[" + std::to_string(part.passage + 1) + "]") == std::string::npos) continue;
    auto file = file_words_.find(source);
    if (file == file_words_.end()) continue;
    std::string text = part.text;
    for (size_t at; (at = text.find("\xE2\x80\xA6")) != std::string::npos;) text.replace(at, 3, " ");
    std::vector<std::string> words = SortedWords(text);
    bool quoted = !words.empty() && std::all_of(words.begin(), words.end(), [&](const std::string& w) {
      return std::binary_search(file->second.begin(), file->second.end(), w);
    });
    if (quoted) return true;
  }
  return false;
}

}  // namespace folio
