#!/bin/sh
# Migrate, load the content pack (upsert, idempotent), then start `lotse <args>` (default: run).
set -e
lotse db upgrade
lotse content load
exec lotse "$@"
