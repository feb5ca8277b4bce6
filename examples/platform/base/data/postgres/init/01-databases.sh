#!/bin/bash
# Runs once, on the primary's first start (empty data directory).
# Creates the two application databases and their owning roles.
set -euo pipefail

export PGPASSWORD="${POSTGRESQL_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username postgres <<SQL
CREATE ROLE core_app LOGIN PASSWORD '${CORE_DB_PASSWORD}';
CREATE DATABASE platform_core OWNER core_app;
CREATE ROLE content_app LOGIN PASSWORD '${CONTENT_DB_PASSWORD}';
CREATE DATABASE platform_content OWNER content_app;
SQL
