#!/usr/bin/env bash
# Build the four published packages and pack them as npm would install them (pnpm pack applies publishConfig:
# dist exports and bins, workspace:* turned into versions) into out/packages/.
set -euo pipefail
cd "$(dirname "$0")/.."
PNPM="${PNPM:-pnpm}"
OUT="$PWD/out/packages"
rm -rf "$OUT" && mkdir -p "$OUT"
$PNPM build
for dir in shared client-sdk coordinator scripts; do
  (cd "$dir" && $PNPM pack --pack-destination "$OUT" >/dev/null)
done
# No tarball may ship tests or sources, and each must carry its dist entry and the LICENSE.
for tgz in "$OUT"/*.tgz; do
  listing=$(tar -tzf "$tgz")
  if grep -Eq '\.test\.|/src/' <<<"$listing"; then echo "pack: $(basename "$tgz") ships tests or sources" >&2; exit 1; fi
  grep -q '^package/LICENSE$' <<<"$listing" || { echo "pack: $(basename "$tgz") has no LICENSE" >&2; exit 1; }
  grep -q '^package/dist/' <<<"$listing" || { echo "pack: $(basename "$tgz") has no dist/" >&2; exit 1; }
done
ls -1 "$OUT"
