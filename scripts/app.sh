#!/usr/bin/env bash
# Set up (once) and start the app at http://127.0.0.1:7860. Extra arguments go to app.py.
. "$(dirname "$0")/venv.sh" requirements.txt
exec python app.py "$@"
