#!/usr/bin/env bash
# bench/eval/docs/make_corpus.sh OUT: lays out the large evaluation corpus in
# OUT from documentation Debian packages ship (`scripts/bootstrap eval`
# installs them; this script runs it): git-doc's manual pages, guides and technical notes (AsciiDoc, as
# OUT/git/…) and the reStructuredText sources of python3.11-doc's library
# reference, tutorial, HOWTOs, FAQs, language reference and usage guide (as
# OUT/python/…). Nobody on the team wrote any of it, and it is never copied
# into the repository. Fails if a package is missing or a file named by
# bench/eval/docs/questions.json is not there.
set -euo pipefail
OUT="${1:?usage: make_corpus.sh OUT}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$HERE/../../../scripts/bootstrap" eval
GIT_DOC=/usr/share/doc/git-doc
PY_DOC=/usr/share/doc/python3.11/html/_sources
for pkg in git-doc python3.11-doc; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
    || { echo "make_corpus.sh: package $pkg is not installed (run scripts/bootstrap eval)" >&2; exit 1; }
done
rm -rf "$OUT"
mkdir -p "$OUT/git" "$OUT/python"
(cd "$GIT_DOC" && find . -type f -name '*.txt' -print0 | xargs -0 cp --parents -t "$OUT/git")
for d in library tutorial howto faq reference using; do
  (cd "$PY_DOC" && find "$d" -type f -name '*.rst.txt' -print0 | xargs -0 cp --parents -t "$OUT/python")
done
missing="$(jq -r '.[].sources[]' "$HERE/questions.json" | sort -u | while read -r f; do [ -f "$OUT/$f" ] || echo "$f"; done)"
if [ -n "$missing" ]; then
  echo "make_corpus.sh: files named by questions.json are missing:" >&2
  echo "$missing" >&2
  exit 1
fi
echo "corpus: $(find "$OUT" -type f | wc -l) files, $(du -sh "$OUT" | cut -f1) in $OUT"
