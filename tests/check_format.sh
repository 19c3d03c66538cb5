#!/usr/bin/env bash
# Fails, listing the files, when C++ sources differ from what .clang-format asks for.
#   tests/check_format.sh CLANG_FORMAT SOURCE_DIR
# The fix is `clang-format -i` on the files listed.
set -euo pipefail
clang_format="$1"
cd "$2"
bad=()
while IFS= read -r -d '' file; do
  "$clang_format" --dry-run -Werror "$file" >/dev/null 2>&1 || bad+=("$file")
done < <(find common services samples tests -name '*.cc' -print0 -o -name '*.h' -print0)
if ((${#bad[@]})); then
  printf 'not formatted per .clang-format (%s -i FILE):\n' "$clang_format" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "every C++ source follows .clang-format"
