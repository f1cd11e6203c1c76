#!/usr/bin/env bash
# bench/eval_answers.sh: retrieval and offline-answer quality on both
# evaluation sets, folio next to plain BM25 in the same run: the sample KB
# (kb/, bench/eval/questions.json) and the large set (Debian's git and Python
# documentation laid out by bench/eval/docs/make_corpus.sh, 185 questions in
# bench/eval/docs/questions.json). Prints one table per set: recall@1/3/5,
# MRR, supported, clean, and correct (sample KB) by split (tune, test) and
# kind (paraphrase, keyword). Tune on the tune half; report the test half.
# About two minutes. EVAL_ARGS passes options to eval-retrieval (e.g.
# "--vector-weight 0.5" to try other fusion weights).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -x "$FOLIO_BIN/eval-retrieval" ] || "$BENCH_ROOT/scripts/build"
WORK="$(mktemp -d /tmp/folio-evalans-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
cd "$BENCH_ROOT"

echo "## Sample KB ($(date -u +%Y-%m-%d))"
echo
# shellcheck disable=SC2086
"$FOLIO_BIN/eval-retrieval" --kb kb --questions bench/eval/questions.json ${EVAL_ARGS:-} "$@"
echo
echo "## Large set: Debian documentation"
echo
bench/eval/docs/make_corpus.sh "$WORK/corpus"
# shellcheck disable=SC2086
"$FOLIO_BIN/eval-retrieval" --kb "$WORK/corpus" --questions bench/eval/docs/questions.json ${EVAL_ARGS:-} "$@"
