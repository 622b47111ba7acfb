"""The read-only JSON API under /api/v1/ for staff (routes.py lists its endpoints).

Who may call it: a signed-in browser (the staff session cookie, same-origin only) or a script
sending `Authorization: Bearer <token>`. A token acts with its owner's role and budgets; only its
SHA-256 is stored; it stops working when revoked, when it expires or when its account is
disabled (staff make tokens on the staff tokens page, web/staff/tokens.py). Answers are never
cached and carry no CORS headers (no other site can read them). Errors are
`{"error": {"code": ..., "message": ...}}`. Money in insight tables is in currency units as
decimal strings (columns named *_amount); submissions give integer cents (`amounts_cents`).
Nothing here imports the staff workspace or the resident pages."""
