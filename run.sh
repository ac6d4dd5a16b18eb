#!/usr/bin/env bash
# One command from a fresh clone to a working service: system packages, a venv, govqa,
# the article's sources fetched and indexed, and the staff page served.
#
#   ./run.sh                        everything, on the sources in corpus/sources.toml
#   ./run.sh --from DIR_OR_URL      take the sources from a local mirror (closed networks)
#   ./run.sh --docs DIR             index your own folder instead of the article's sources
#   ./run.sh --no-serve             stop after indexing
#   ./run.sh --port 8080 --host 0.0.0.0
#
# With CI=true it skips the network fetch, indexes what it has (corpus/raw, else the sample
# PDFs in ../shared/samples/mhlw), starts the server, asks it one question and stops it.
set -euo pipefail
cd "$(dirname "$0")"

MIRROR="" DOCS="" SERVE=1 HOST=127.0.0.1 PORT=8000
while [ $# -gt 0 ]; do
  case "$1" in
    --from) MIRROR="${2:?--from needs a folder or URL}"; shift 2 ;;
    --docs) DOCS="${2:?--docs needs a folder}"; shift 2 ;;
    --no-serve) SERVE=0; shift ;;
    --host) HOST="${2:?--host needs an address}"; shift 2 ;;
    --port) PORT="${2:?--port needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see ./run.sh --help)" >&2; exit 2 ;;
  esac
done
CI_MODE=0
case "${CI:-}" in true|1|yes) CI_MODE=1 ;; esac
say() { printf '\033[1m==> [%ds] %s\033[0m\n' "$SECONDS" "$*" >&2; }

# 1. System packages, only those missing: OCR (Japanese), the browser, CJK fonts and npm the tests
#    use, LibreOffice for Word/Excel/PowerPoint files, and Python's venv module.
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3 || true)}"
missing=()
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
# Captured first: `producer | grep -q` fails under pipefail when grep stops reading early (SIGPIPE).
langs="$(tesseract --list-langs 2>/dev/null || true)"; fonts="$(fc-list 2>/dev/null || true)"
grep -qx jpn <<<"$langs" || missing+=(tesseract-ocr-jpn)
grep -qx osd <<<"$langs" || missing+=(tesseract-ocr-osd)  # page orientation: scans lying on their side
grep -qx jpn_vert <<<"$langs" || missing+=(tesseract-ocr-jpn-vert)  # scans of vertical writing (縦書き)
command -v chromium >/dev/null || missing+=(chromium)
grep -qi "noto.*cjk" <<<"$fonts" || missing+=(fonts-noto-cjk)
command -v soffice >/dev/null || missing+=(libreoffice-writer libreoffice-calc libreoffice-impress)
command -v npm >/dev/null || missing+=(npm)
{ [ -n "$PYTHON" ] && "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; } || missing+=(python3 python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || command -v sudo >/dev/null; }; then
    say "installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
    PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
  else
    say "please install these packages yourself (no apt-get here): ${missing[*]}; continuing without them"
  fi
fi
"$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "run.sh: govqa needs Python 3.11 ($PYTHON is $("$PYTHON" -V 2>&1)); set PYTHON=/path/to/python3.11" >&2; exit 1; }

# 2. The venv: torch first, pinned, so that pip takes the CPU build; then govqa with its test tools.
[ -x .venv/bin/python ] || { say "creating .venv"; "$PYTHON" -m venv .venv; }
. .venv/bin/activate
say "installing govqa into .venv (the first time takes a few minutes)"
python -m pip install -q --disable-pip-version-check torch==2.13.0
# llama-cpp-python (the test extra: real local models) builds from source; llama.cpp's default
# native build crashed at the first token on some CPUs, these flags run on any x86-64 with AVX2.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}"
python -m pip install -q --disable-pip-version-check -e '.[test]'
# axe-core, which the browser tests inject to check the staff page (package.json; the lock pins it).
if command -v npm >/dev/null && [ -f package-lock.json ]; then npm ci --no-audit --no-fund --silent; fi

# 3. The documents.
if [ -n "$DOCS" ]; then
  TARGET="$DOCS"
elif [ "$CI_MODE" = 1 ] && [ -z "$MIRROR" ]; then
  say "CI: the network fetch is skipped"
  TARGET=corpus/raw
  if ! ls corpus/raw/* >/dev/null 2>&1 && [ -d ../shared/samples/mhlw ]; then TARGET=../shared/samples/mhlw; fi
else
  say "fetching the article's sources${MIRROR:+ from $MIRROR}"
  if ! govqa fetch ${MIRROR:+--from "$MIRROR"}; then
    if ls corpus/raw/* >/dev/null 2>&1; then
      say "some sources could not be fetched (above); indexing the ones that were"
    else
      echo "run.sh: the sources could not be fetched (no internet here?). If you have them in a folder" \
           "or on an internal server, run: ./run.sh --from FOLDER_OR_URL — or index your own documents:" \
           "./run.sh --docs FOLDER" >&2
      exit 1
    fi
  fi
  TARGET=corpus/raw
fi
say "indexing $TARGET"
govqa index "$TARGET"

# 4. The staff page.
if [ "$CI_MODE" = 1 ]; then
  say "CI: starting the server, asking it one question, stopping it"
  log="$(mktemp)"
  govqa serve --host 127.0.0.1 --port 0 2>"$log" &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT
  url=""
  for _ in $(seq 1 120); do
    url="$(grep -o 'http://[^ ]*/' "$log" | head -n1 || true)"
    [ -n "$url" ] && python -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + 'health', timeout=5)" "$url" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 1
  done
  echo "staff page: $url"
  python - "$url" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(sys.argv[1] + "ask", json.dumps({"query": "MF登録申請に費用はかかりますか"}).encode(),
                                 {"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(request, timeout=300))
print("first answer:", answer["answer"][:200] or answer.get("message"))
EOF
  say "first answer received"
  exit 0
fi
if [ "$SERVE" = 1 ]; then
  say "serving the staff page (Ctrl+C stops; next time: . .venv/bin/activate && govqa serve)"
  exec govqa serve --host "$HOST" --port "$PORT"
fi
say "done; serve the staff page with: . .venv/bin/activate && govqa serve"
