#!/usr/bin/env bash
# The fonts receipt PDFs embed (billing/receipts/fonts.py): DejaVu Sans for Latin, ₹, Arabic and most
# scripts, Noto Sans Devanagari for Hindi, Marathi and other Devanagari names. Both are Debian packages;
# this installs them when a file is missing (as root, or through sudo) and does nothing otherwise.
set -euo pipefail

declare -A wanted=(
    [/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf]=fonts-dejavu-core
    [/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf]=fonts-dejavu-core
    [/usr/share/fonts/truetype/noto/NotoSansDevanagari-Regular.ttf]=fonts-noto-core
    [/usr/share/fonts/truetype/noto/NotoSansDevanagari-Bold.ttf]=fonts-noto-core
)
missing=()
for file in "${!wanted[@]}"; do
    [[ -f $file ]] || missing+=("${wanted[$file]}")
done
((${#missing[@]})) || exit 0
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "error: receipt PDFs need the fonts of ${packages[*]}; run: sudo apt-get install -y ${packages[*]}" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    echo "error: receipt PDFs need the fonts of ${packages[*]} (Debian packages); install them" >&2
    exit 1
fi
echo "installing fonts for receipt PDFs: ${packages[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get install -y --no-install-recommends "${packages[@]}" \
    || { "${as_root[@]}" apt-get update -q && "${as_root[@]}" apt-get install -y --no-install-recommends "${packages[@]}"; }
