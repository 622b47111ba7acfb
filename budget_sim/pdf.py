"""HTML to PDF with WeasyPrint, in this process: one document at a time, nothing fetched.

WeasyPrint needs Pango (a Debian library); where it is missing, `Unavailable` says so. The
document may not load anything (no network, no files): its stylesheet is handed over here, and
its charts are inline SVG."""

from __future__ import annotations

import threading
from pathlib import Path

_one_at_a_time = threading.Lock()


class Unavailable(Exception):
    """PDFs cannot be made here (WeasyPrint or Pango missing), or another one is being made."""


def to_pdf(html: str, stylesheet: Path, *, page_size: str = "A4", wait: float = 30.0) -> bytes:
    """The PDF of `html` styled by `stylesheet` on `page_size` paper (A4, letter). Waits up
    to `wait` seconds for another PDF being made to finish (one at a time: each takes seconds
    of CPU)."""
    try:
        import weasyprint  # noqa: PLC0415 (imported on first use: it loads Pango)
    except (ImportError, OSError) as error:
        raise Unavailable(
            "PDFs cannot be made on this server: WeasyPrint or the Pango library it needs is "
            f"missing ({error}). Install them (see the README, dependencies), or print the "
            "report page from a browser."
        ) from error
    if not _one_at_a_time.acquire(timeout=wait):
        raise Unavailable("Another report is being made into a PDF; try again in a minute.")
    try:
        document = weasyprint.HTML(
            string=html, url_fetcher=weasyprint.URLFetcher(allowed_protocols=())
        )
        sheets = [
            weasyprint.CSS(filename=str(stylesheet)),
            weasyprint.CSS(string=f"@page {{ size: {page_size}; }}"),
        ]
        return document.write_pdf(stylesheets=sheets)
    finally:
        _one_at_a_time.release()
