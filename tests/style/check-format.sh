#!/bin/sh
# clang-format check of every C source and header (kernel style, .clang-format).
top=$1
command -v clang-format >/dev/null 2>&1 || { echo "clang-format not installed"; exit 77; }
cd "$top" || exit 1
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find lib include examples tests -name '*.[ch]')
[ -n "$files" ] || files=$(find lib include examples tests -name '*.[ch]')
status=0
n=0
for f in $files; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	if ! clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "not clang-formatted: $f"
		status=1
	fi
done
echo "$n files checked"
exit $status
