// porter_stem.cc: the five steps of Porter's paper, on a std::string.
// m() is the "measure" of the stem before a suffix: the number of
// vowel-consonant sequences, [C](VC)^m[V]; 'y' is a vowel after a consonant.
#include "porter_stem.h"

#include <algorithm>

namespace folio {
namespace {

class Stemmer {
 public:
  explicit Stemmer(std::string w) : b_(std::move(w)) {}

  std::string Run() {
    Step1ab();
    if (b_.size() > 2) {
      Step1c();
      Step2();
      Step3();
      Step4();
      Step5();
    }
    return b_;
  }

 private:
  bool Consonant(size_t i) const {
    switch (b_[i]) {
      case 'a': case 'e': case 'i': case 'o': case 'u': return false;
      case 'y': return i == 0 || !Consonant(i - 1);
      default: return true;
    }
  }
  // The measure of b_[0, j_).
  int M() const {
    int n = 0;
    size_t i = 0;
    while (i < j_ && Consonant(i)) ++i;
    while (i < j_) {
      while (i < j_ && !Consonant(i)) ++i;
      if (i >= j_) break;
      ++n;
      while (i < j_ && Consonant(i)) ++i;
    }
    return n;
  }
  bool VowelInStem() const {
    for (size_t i = 0; i < j_; ++i)
      if (!Consonant(i)) return true;
    return false;
  }
  bool DoubleConsonant(size_t i) const { return i >= 1 && b_[i] == b_[i - 1] && Consonant(i); }
  // consonant-vowel-consonant ending at i, the last not w, x or y.
  bool Cvc(size_t i) const {
    if (i < 2 || !Consonant(i) || Consonant(i - 1) || !Consonant(i - 2)) return false;
    return b_[i] != 'w' && b_[i] != 'x' && b_[i] != 'y';
  }
  // True if b_ ends with s; sets j_ to where the suffix starts.
  bool Ends(std::string_view s) {
    if (s.size() > b_.size() || b_.compare(b_.size() - s.size(), s.size(), s) != 0) return false;
    j_ = b_.size() - s.size();
    return true;
  }
  void SetTo(std::string_view s) { b_.replace(j_, std::string::npos, s); }
  void ReplaceIfMeasured(std::string_view s) {
    if (M() > 0) SetTo(s);
  }

  void Step1ab() {
    if (b_.back() == 's') {
      if (Ends("sses")) SetTo("ss");
      else if (Ends("ies")) SetTo("i");
      else if (b_.size() >= 2 && b_[b_.size() - 2] != 's') b_.pop_back();
    }
    if (Ends("eed")) {
      if (M() > 0) b_.pop_back();
    } else if ((Ends("ed") || Ends("ing")) && VowelInStem()) {
      b_.resize(j_);
      if (Ends("at")) SetTo("ate");
      else if (Ends("bl")) SetTo("ble");
      else if (Ends("iz")) SetTo("ize");
      else if (DoubleConsonant(b_.size() - 1)) {
        char c = b_.back();
        if (c != 'l' && c != 's' && c != 'z') b_.pop_back();
      } else {
        j_ = b_.size();
        if (M() == 1 && Cvc(b_.size() - 1)) b_ += 'e';
      }
    }
  }
  void Step1c() {
    if (Ends("y") && VowelInStem()) b_.back() = 'i';
  }
  void Step2() {
    static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
        {"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"}, {"izer", "ize"},
        {"bli", "ble"},     {"alli", "al"},     {"entli", "ent"}, {"eli", "e"},     {"ousli", "ous"},
        {"ization", "ize"}, {"ation", "ate"},   {"ator", "ate"},  {"alism", "al"},  {"iveness", "ive"},
        {"fulness", "ful"}, {"ousness", "ous"}, {"aliti", "al"},  {"iviti", "ive"}, {"biliti", "ble"},
        {"logi", "log"}};
    for (const auto& [from, to] : kRules) {
      if (Ends(from)) {
        ReplaceIfMeasured(to);
        return;
      }
    }
  }
  void Step3() {
    static constexpr std::pair<std::string_view, std::string_view> kRules[] = {
        {"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"}, {"ful", ""}, {"ness", ""}};
    for (const auto& [from, to] : kRules) {
      if (Ends(from)) {
        ReplaceIfMeasured(to);
        return;
      }
    }
  }
  void Step4() {
    static constexpr std::string_view kSuffixes[] = {"al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement",
                                                     "ment", "ent", "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize"};
    for (std::string_view s : kSuffixes) {
      if (!Ends(s)) continue;
      if (s == "ion" && !(j_ > 0 && (b_[j_ - 1] == 's' || b_[j_ - 1] == 't'))) return;
      if (s == "ent" && (Ends("ement") || Ends("ment"))) return;  // the longer suffixes came first
      if (M() > 1) b_.resize(j_);
      return;
    }
  }
  void Step5() {
    j_ = b_.size();
    if (b_.back() == 'e') {
      j_ = b_.size() - 1;
      int m = M();
      if (m > 1 || (m == 1 && !Cvc(b_.size() - 2))) b_.pop_back();
    }
    j_ = b_.size();
    if (b_.back() == 'l' && DoubleConsonant(b_.size() - 1) && M() > 1) b_.pop_back();
  }

  std::string b_;
  size_t j_ = 0;  // where the suffix being tested starts
};

}  // namespace

std::string PorterStem(std::string_view word) {
  if (word.size() <= 2) return std::string(word);
  bool plain = std::all_of(word.begin(), word.end(), [](char c) { return c >= 'a' && c <= 'z'; });
  if (!plain) return std::string(word);
  return Stemmer(std::string(word)).Run();
}

}  // namespace folio
