#!/usr/bin/env bash
# Lists the lines of the C# sources that are longer than the house limit (.editorconfig's max_line_length, 160) and
# exits 1 when there are any, 0 when there are none, 2 on a usage error.
#
#   build/check-line-length.sh                 # src/**/*.cs, 160 characters
#   build/check-line-length.sh -n 120 src tests # another limit, other folders (relative to the repository root)
#
# Length is counted in characters (UTF-8 continuation bytes are not counted; a tab counts as one), without a trailing
# carriage return. Generated files under obj/ and bin/ are skipped. Output: one "path:line: length" per long line, then
# a count. Needs only bash, find and awk (mawk or gawk).
set -euo pipefail
cd "$(dirname "$0")/.."

limit=160
if [[ "${1:-}" == "-n" ]]; then
  if [[ ! "${2:-}" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [-n LIMIT] [FOLDER...] (LIMIT a positive integer)" >&2
    exit 2
  fi
  limit=$2
  shift 2
fi
folders=("$@")
[[ ${#folders[@]} -eq 0 ]] && folders=(src)
for f in "${folders[@]}"; do
  if [[ ! -d "$f" ]]; then
    echo "$0: no folder '$f'" >&2
    exit 2
  fi
done

# -print0/xargs -0 keep odd file names intact; LC_ALL=C makes awk count bytes, from which continuation bytes are removed.
long=$(find "${folders[@]}" \( -name obj -o -name bin \) -prune -o -type f -name '*.cs' -print0 | sort -z |
  xargs -0 --no-run-if-empty env LC_ALL=C awk -v limit="$limit" '
    { line = $0; sub(/\r$/, "", line); rest = line; cont = gsub(/[\200-\277]/, "", rest); len = length(line) - cont }
    len > limit { printf "%s:%d: %d characters\n", FILENAME, FNR, len }')
if [[ -n "$long" ]]; then
  printf '%s\n' "$long"
  echo "$(grep -c . <<<"$long") line(s) longer than $limit characters in ${folders[*]}"
  exit 1
fi
echo "no line longer than $limit characters in ${folders[*]}"
