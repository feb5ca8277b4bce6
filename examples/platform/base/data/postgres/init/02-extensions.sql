-- Trigram indexes back the search service's fuzzy matching.
\connect platform_content
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
