# scripts/lib.sh: helpers shared by the scripts (sourced, not run).
FOLIO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export FOLIO_ROOT

die() { echo "folio: $*" >&2; exit 1; }
say() { echo "folio: $*" >&2; }
