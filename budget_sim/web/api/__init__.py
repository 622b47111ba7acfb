"""The read-only JSON API under /api/v1/ for staff and their scripts."""
