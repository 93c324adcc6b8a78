#!/usr/bin/env bash
# The web page end to end: the embedded page and assets over HTTP (curl),
# the job list route, then Debian's headless Chromium driven by
# playwright-core (tests/web/test_page.mjs) against a real server, once
# without and once with --api-key. Screenshots go to OUTDIR.
# Usage: test_web.sh ORFEAS TESTDATA OUTDIR
set -eu  # not pipefail: server_lib.sh polls with grep pipelines that may match nothing yet
orfeas="$1"
out="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/server_lib.sh
source "$here/../server_lib.sh"
# shellcheck source=tests/testdata.sh
source "$here/../testdata.sh"
testdata_init "$2"
apple="$(testdata_file images/apple.jpg)" horse="$(testdata_file images/horse.png)"
tmp="$(mktemp -d)"
trap 'server_stop; rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -n "${SERVER_LOG:-}" ] && tail -20 "$SERVER_LOG" >&2
    exit 1
}
[ -x "${ORFEAS_CHROMIUM:-/usr/bin/chromium}" ] || fail "no /usr/bin/chromium: run tools/deps.sh"
[ -d "$here/node_modules/playwright-core" ] || fail "no tests/web/node_modules: run tools/deps.sh test"
rm -rf "$out"
mkdir -p "$out"

server_start "$orfeas" --workers 1 --data-dir "$tmp/data"

# The page, its assets (tagged, long-cached), 404 for the unknown.
code="$(curl -s -o "$tmp/index.html" -D "$tmp/h" -w '%{http_code} %{content_type}' "$SERVER_URL/")"
[ "$code" = "200 text/html; charset=utf-8" ] || fail "/ answered $code"
grep -qi '^cache-control: no-cache' "$tmp/h" || fail "/ is not revalidated"
grep -q 'type="importmap"' "$tmp/index.html" || fail "no import map in the page"
assets="$(grep -o '/assets/[0-9a-f]*/[A-Za-z0-9_./-]*' "$tmp/index.html" | sort -u)"
[ "$(echo "$assets" | wc -l)" -ge 4 ] || fail "the page names too few assets: $assets"
for a in $assets; do
    code="$(curl -s -o /dev/null -D "$tmp/h" -w '%{http_code} %{content_type}' "$SERVER_URL$a")"
    case "$a" in
    */) continue ;; # the import map's "three/addons/" prefix
    *.js) want="200 text/javascript; charset=utf-8" ;;
    *.css) want="200 text/css; charset=utf-8" ;;
    *) want="200" ;;
    esac
    [ "${code#"$want"}" != "$code" ] || fail "$a answered $code"
    grep -qi '^cache-control: public, max-age=31536000, immutable' "$tmp/h" || fail "$a: no long Cache-Control"
done
tag="$(echo "$assets" | head -1 | cut -d/ -f3)"
for a in "$tag/three/examples/jsm/utils/BufferGeometryUtils.js" "$tag/three/build/three.core.js"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/assets/$a")"
    [ "$code" = 200 ] || fail "/assets/$a answered $code"
done
for a in /assets/nope.js "/assets/$tag/nope.js" /assets/ "/assets/0000/app.js"; do
    code="$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL$a")"
    [ "$code" = 404 ] || fail "$a answered $code, not 404"
done
# The job list: empty, bad limit.
[ "$(curl -s "$SERVER_URL/api/v1/jobs")" = '{"jobs":[]}' ] || fail "job list not empty at start"
code="$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/api/v1/jobs?limit=0")"
[ "$code" = 400 ] || fail "limit=0 answered $code"
echo "ok   page and assets over HTTP ($(echo "$assets" | wc -l) assets)"

node "$here/test_page.mjs" main "$SERVER_URL" "$apple" "$out" || fail "browser test (main)"

# The job list after it: most recent first, limit honoured. A width of its
# own keeps the job out of the result cache (a hit makes no job).
curl -s -o "$tmp/new.json" -F image=@"$horse" -F quality=2 \
    -F width_mm="$((40 + RANDOM % 50)).$((RANDOM % 10))" "$SERVER_URL/api/v1/jobs"
id="$(json_get "$tmp/new.json" 'j.job_id')"
for _ in $(seq 1 600); do
    curl -s "$SERVER_URL/api/v1/jobs/$id" >"$tmp/st.json"
    case "$(json_get "$tmp/st.json" 'j.status')" in queued | running) sleep 0.1 ;; *) break ;; esac
done
curl -s "$SERVER_URL/api/v1/jobs?limit=2" >"$tmp/jobs.json"
[ "$(json_get "$tmp/jobs.json" 'j.jobs.length')" = 2 ] || fail "limit=2: $(cat "$tmp/jobs.json")"
[ "$(json_get "$tmp/jobs.json" "j.jobs[0].job_id === '$id' && j.jobs[0].created >= j.jobs[1].created && j.jobs[0].result.triangles > 0")" = true ] ||
    fail "job list order: $(head -c 600 "$tmp/jobs.json")"
echo "ok   job list newest first"
server_stop

# Also a cluster node whose Redis is not there (port 1): it serves alone,
# degraded, and the page shows it.
server_start "$orfeas" --workers 1 --data-dir "$tmp/data-key" --api-key web-test-key \
    --redis redis://127.0.0.1:1 --node-id web-node
code="$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/")"
[ "$code" = 200 ] || fail "/ with --api-key answered $code (the page is public)"
code="$(curl -s -o /dev/null -w '%{http_code}' "$SERVER_URL/api/v1/jobs")"
[ "$code" = 401 ] || fail "/api/v1/jobs without the key answered $code"
node "$here/test_page.mjs" key "$SERVER_URL" web-test-key "$out" || fail "browser test (key)"
echo "web: all checks passed; screenshots in $out"
