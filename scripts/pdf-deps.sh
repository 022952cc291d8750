# Sourced by scripts/bootstrap.sh (so by scripts/serve and scripts/test alike): the Debian
# packages the PDF copies need. WeasyPrint (a Python package) lays text out with Pango, and the
# documents use Noto Sans CJK (Latin, Simplified and Traditional Chinese in one font collection:
# the SC and TC families of screener/languages.toml's pdf_font, embedded in
# each PDF). Installed only when missing, and only as root; otherwise it says what to install.
pdf_missing=()
ldconfig -p 2>/dev/null | grep -q 'libpango-1\.0\.so\.0' || pdf_missing+=(libpango-1.0-0)
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1\.0\.so\.0' || pdf_missing+=(libpangoft2-1.0-0)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || pdf_missing+=(fonts-noto-cjk)
if [ ${#pdf_missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "The PDF copies need these Debian packages: ${pdf_missing[*]}." >&2
    echo "Install them as root: apt-get install ${pdf_missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${pdf_missing[*]} (Debian packages, for the PDF copies) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pdf_missing[@]}" >/dev/null
fi
unset pdf_missing
