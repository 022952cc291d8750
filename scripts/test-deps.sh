# Sourced by scripts/test: what the tests need besides Python packages and PostgreSQL.
# Debian's chromium (Playwright drives it; its own browser download is not used), a Java runtime
# for the W3C Nu Html Checker, a small Chinese font (so Traditional Chinese pages are laid out and
# screenshotted with real glyphs), Redis (the rate-limit store several app servers share),
# LibreOffice Calc (opens the CSV export to check no cell runs as a formula), poppler-utils
# (pdftotext and pdfinfo read the PDF copies back), and the npm packages of package.json
# (axe-core, vnu-jar, lforms, the FHIR R4 JSON Schema). What the PDF copies themselves need
# (Pango, fonts-noto-cjk) comes with every install, in scripts/pdf-deps.sh (sourced by
# bootstrap.sh).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v java >/dev/null || missing+=(default-jre-headless)
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
command -v npm >/dev/null || missing+=(npm)
command -v redis-server >/dev/null || missing+=(redis-server)  # the shared rate-limit store
command -v soffice >/dev/null || missing+=(libreoffice-calc-nogui)  # opens the CSV export
command -v pdftotext >/dev/null || missing+=(poppler-utils)  # reads the PDF copies back
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "The tests need: ${missing[*]} (Debian packages). Install them as root." >&2
    exit 1
  fi
  echo "Installing ${missing[*]} (Debian packages) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
lock_stamp=node_modules/.screener-lock
if [ ! -f "$lock_stamp" ] || ! cmp -s package-lock.json "$lock_stamp"; then
  echo "Installing the npm test tools (axe-core, vnu-jar, lforms, FHIR JSON Schema) ..."
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$lock_stamp"
fi
