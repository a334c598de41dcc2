#!/usr/bin/env bash
# The Delta Lake jars named in jars/pom.xml, copied from Maven Central (through the local
# ~/.m2 cache) into .jars/, where sessions load them with spark.jars and the cluster test
# passes them to spark-submit --jars. Skips the work while .jars/ matches the pom, so it
# runs offline once fetched. Extra arguments go to mvn (e.g. -Dmaven.repo.local=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

POM=jars/pom.xml
OUT=.jars
STAMP=$OUT/.stamp

can_apt() { [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; }
checksum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1; }

# Up to date: the stamp records the pom's checksum and the jars it produced.
want="pom-sha256 $(checksum "$POM")"
if [ -f "$STAMP" ] && [ "$(head -n 1 "$STAMP")" = "$want" ]; then
  missing=""
  while IFS= read -r jar; do [ -f "$OUT/$jar" ] || missing=1; done < <(tail -n +2 "$STAMP")
  if [ -z "$missing" ]; then
    touch "$STAMP"   # newer than the pom and this script, for make
    echo "fetch_jars: $OUT/ is up to date ($(tail -n +2 "$STAMP" | paste -sd' ' -))"
    exit 0
  fi
fi

if ! command -v mvn >/dev/null 2>&1; then
  if can_apt; then
    echo "fetch_jars: installing Maven to fetch the Delta Lake jars"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null
  else
    echo "fetch_jars: Maven (mvn) is required to fetch the Delta Lake jars into $OUT/; install it (e.g. apt-get install maven)" >&2
    exit 1
  fi
fi

# Copy into a fresh directory and swap it in, so a failed fetch leaves no partial .jars/.
start=$SECONDS
tmp=$(mktemp -d "${OUT}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! mvn -q -B -Dstyle.color=never -f "$POM" "$@" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$PWD/$tmp" >"$tmp/mvn.log" 2>&1; then
  cat "$tmp/mvn.log" >&2
  echo "fetch_jars: mvn could not fetch the jars of $POM (Maven Central reachable?)" >&2
  exit 1
fi
rm -f "$tmp/mvn.log"
jars=$(cd "$tmp" && ls -1 -- *.jar)
{ echo "$want"; echo "$jars"; } >"$tmp/.stamp"
echo '*' >"$tmp/.gitignore"   # fetched files, never committed
chmod 755 "$tmp"
rm -rf "$OUT"
mv "$tmp" "$OUT"
trap - EXIT
echo "fetch_jars: fetched $(echo "$jars" | paste -sd' ' -) into $OUT/ in $((SECONDS - start)) s"
