#!/usr/bin/env bash
# Back up Portal Messaging: a PostgreSQL dump and the uploads folder, side by side.
#   DATABASE_URL=postgresql://… UPLOAD_DIR=/srv/portal/uploads deploy/backup.sh /backups
# Keeps the newest KEEP (default 14) of each. Restore: see docs/operations.md ("Backups").
set -euo pipefail

dest=${1:?usage: backup.sh DEST_DIR}
: "${DATABASE_URL:?DATABASE_URL must name the PostgreSQL database}"
: "${UPLOAD_DIR:?UPLOAD_DIR must name the uploads folder}"
keep=${KEEP:-14}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dest"

# Custom format: compressed, and pg_restore can restore it selectively.
pg_dump --format=custom --no-owner --file "$dest/portal-$stamp.dump" "${DATABASE_URL/postgresql+psycopg:/postgresql:}"
tar -C "$UPLOAD_DIR" -czf "$dest/uploads-$stamp.tar.gz" .

for kind in portal uploads; do
  ls -1t "$dest/$kind"-* 2>/dev/null | tail -n +"$((keep + 1))" | xargs -r rm --
done
echo "backup: $dest/portal-$stamp.dump $dest/uploads-$stamp.tar.gz"
