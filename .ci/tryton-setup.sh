#!/usr/bin/env bash
# Create the Tryton 8.2 virtualenv used by the Tryton connector tests and the
# bench (its own venv, so Tryton's dependencies never clash with the hub's).
# Usage: .ci/tryton-setup.sh [VENV_DIR]   (default: $MDM_TRYTON_VENV or .venv-tryton)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${1:-${MDM_TRYTON_VENV:-.venv-tryton}}"
if [ -x "$VENV/bin/trytond" ] && "$VENV/bin/python" -c 'import trytond, trytond.modules.sale_subscription' 2>/dev/null; then
  echo "Tryton already installed in $VENV"; exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q \
  'trytond>=8.2,<8.3' 'trytond-party>=8.2,<8.3' 'trytond-company>=8.2,<8.3' 'trytond-currency>=8.2,<8.3' \
  'trytond-country>=8.2,<8.3' 'trytond-project>=8.2,<8.3' 'trytond-timesheet>=8.2,<8.3' \
  'trytond-project-invoice>=8.2,<8.3' 'trytond-sale-opportunity>=8.2,<8.3' 'trytond-account>=8.2,<8.3' \
  'trytond-sale-subscription>=8.2,<8.3'
"$VENV/bin/trytond" --version
