#!/bin/sh
# Refresh the vendored front-end packages from the npm registry (no CDN: the project serves them itself
# under its strict CSP). Pin a version here, run `make vendor`, commit static/vendor/.
set -eu
TABLER_VERSION=1.6.1
ECHARTS_VERSION=6.1.0
AXE_VERSION=4.14.1  # the browser tests' accessibility checker: vendored under tests/, never served

HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

fetch() {  # fetch <package> <version> <dir>: unpack the npm tarball into $TMP/<dir>
  (cd "$TMP" && npm pack --silent "$1@$2" >/dev/null)
  mkdir -p "$TMP/$3"
  tar xzf "$TMP"/*"$3"-"$2".tgz -C "$TMP/$3" --strip-components=1
}

fetch @tabler/core "$TABLER_VERSION" core
rm -rf "$HERE/tabler" && mkdir -p "$HERE/tabler/css" "$HERE/tabler/js"
cp "$TMP/core/dist/css/tabler.min.css" "$HERE/tabler/css/"
cp "$TMP/core/dist/js/tabler.min.js" "$HERE/tabler/js/"
# Source maps are not vendored: drop their references (the manifest storage would fail on a missing .map).
sed -i '/sourceMappingURL=/d' "$HERE/tabler/css/tabler.min.css" "$HERE/tabler/js/tabler.min.js"
# The npm package carries no licence file; its package.json declares MIT (copyright the Tabler authors).
printf 'MIT License\n\nCopyright (c) 2018-present Paweł Kuna (codecalm) and the Tabler contributors\n\n' > "$HERE/tabler/LICENSE"
cat >> "$HERE/tabler/LICENSE" <<'MIT'
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE
WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
MIT
echo "@tabler/core $TABLER_VERSION (npm)" > "$HERE/tabler/VERSION"

fetch echarts "$ECHARTS_VERSION" echarts
rm -rf "$HERE/echarts" && mkdir -p "$HERE/echarts"
cp "$TMP/echarts/dist/echarts.min.js" "$TMP/echarts/LICENSE" "$TMP/echarts/NOTICE" "$HERE/echarts/"
echo "echarts $ECHARTS_VERSION (npm)" > "$HERE/echarts/VERSION"
fetch axe-core "$AXE_VERSION" axe-core
AXE="$HERE/../../tests/vendor/axe-core"
rm -rf "$AXE" && mkdir -p "$AXE"
cp "$TMP/axe-core/axe.min.js" "$TMP/axe-core/LICENSE" "$AXE/"
echo "axe-core $AXE_VERSION (npm)" > "$AXE/VERSION"
echo "vendored: tabler $TABLER_VERSION, echarts $ECHARTS_VERSION, axe-core $AXE_VERSION"
