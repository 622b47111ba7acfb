"""The staff workspace under /staff: signing in, staff accounts, budget files, the insights
dashboard and its exports, the participation page, the report for council, personal API
tokens. Nothing here imports the resident pages or the JSON API."""
