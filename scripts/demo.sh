#!/usr/bin/env bash
# Set up, index the bundled sample thread and answer sample questions. No Discord token needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export THREADBOT_DATA_DIR=${THREADBOT_DATA_DIR:-data}
tb=.venv/bin/threadbot

$tb index samples/vbulletin
echo
echo '$ threadbot search "Who brought up the Dewey Commission inquiry into the Moscow trials?" --limit 2'
$tb search "Who brought up the Dewey Commission inquiry into the Moscow trials?" --limit 2
echo
echo '$ threadbot quote "Trotsky was something else, with his own program, network and assumptions"'
$tb quote "Trotsky was something else, with his own program, network and assumptions" --limit 1
