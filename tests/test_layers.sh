#!/usr/bin/env bash
# The layering rule (docs/architecture.md): a file under src/ or
# include/orfeas/ includes only its own subsystem and those below it.
# Reads every quoted include (and <orfeas/...>) of every .c, .h, .cu and
# .inc file, prints each upward or sideways one as
#   file: includes X (layer A above B)
# and exits 1 if there is any. A file or header whose layer is not in the
# table below is reported too, so a new subsystem gets a place first; so is
# a .c or .cu file under src/ of more than 800 lines.
# Usage: tests/test_layers.sh [repository root] (default: this script's ..)
set -u
ROOT=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$ROOT" || exit 2

# The layers, lowest first; subsystems on one line share a rank and may not
# include each other. The one place the order is written down.
LAYERS='
core
device
vram
image nn
shape
mesh
export
engine
cache
jobs
cluster
server
cli
'
# The public headers (include/orfeas/<name>.h) and the subsystem each one
# belongs to.
PUBLIC='
error core
log core
params core
buffer core
device device
vram vram
image image
depth nn
blas nn
mesh mesh
export export
thumbnail export
engine engine
orfeas engine
cache cache
jobs jobs
cluster cluster
server server
'

declare -A RANK
rank=0
while read -r line; do
    [ -n "$line" ] || continue
    for s in $line; do RANK[$s]=$rank; done
    rank=$((rank + 1))
done <<<"$LAYERS"
declare -A HEADER
while read -r name sub; do
    [ -n "$name" ] && HEADER[$name]=$sub
done <<<"$PUBLIC"

# The subsystem of a repository path, or "" when it has none.
subsystem_of() {
    case $1 in
    include/orfeas/*.h)
        local base=${1#include/orfeas/}
        echo "${HEADER[${base%.h}]:-}"
        ;;
    src/*/*)
        local rest=${1#src/}
        echo "${rest%%/*}"
        ;;
    *) echo "" ;;
    esac
}

# Where an include written in $1 resolves: next to the file, else under
# src/ or include/ (the library's include paths); "" for system headers.
resolve() {
    local file=$1 inc=$2 dir
    dir=$(dirname "$file")
    if [ -e "$dir/$inc" ]; then
        realpath -m --relative-to=. "$dir/$inc"
    elif [ -e "src/$inc" ]; then
        echo "src/$inc"
    elif [ -e "include/$inc" ]; then
        echo "include/$inc"
    fi
}

violations=0
report() {
    echo "$1"
    violations=$((violations + 1))
}

while IFS= read -r file; do
    own=$(subsystem_of "$file")
    if [ -z "$own" ] || [ -z "${RANK[$own]:-}" ]; then
        report "$file: has no layer (add it to tests/test_layers.sh)"
        continue
    fi
    while IFS= read -r inc; do
        target=$(resolve "$file" "$inc")
        [ -n "$target" ] || continue
        sub=$(subsystem_of "$target")
        if [ -z "$sub" ] || [ -z "${RANK[$sub]:-}" ]; then
            report "$file: includes $inc (no layer for $target)"
        elif [ "$sub" != "$own" ] && [ "${RANK[$sub]}" -gt "${RANK[$own]}" ]; then
            report "$file: includes $inc (layer $sub above $own)"
        elif [ "$sub" != "$own" ] && [ "${RANK[$sub]}" -eq "${RANK[$own]}" ]; then
            report "$file: includes $inc (layer $sub beside $own)"
        fi
    done < <(sed -n -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*("([^"]+)"|<(orfeas\/[^>]+)>).*/\2\3/p' "$file")
done < <(find src include/orfeas -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.inc' \) | LC_ALL=C sort)

# Small files too: no source file in src/ over 800 lines.
while IFS= read -r file; do
    lines=$(wc -l <"$file")
    [ "$lines" -le 800 ] || report "$file: $lines lines (at most 800: split it)"
done < <(find src -type f \( -name '*.c' -o -name '*.cu' \) | LC_ALL=C sort)

if [ "$violations" -gt 0 ]; then
    echo "test_layers: $violations violation(s) of the layer order or the file size (docs/architecture.md)"
    exit 1
fi
echo "test_layers: every include points to its own layer or one below; no src/ file over 800 lines"
