"""Refresh messages.pot from the code and templates and merge it into every language's .po.

Run from the repository root: `.venv/bin/python budget_sim/locales/update_catalogs.py`.
Then translate the new or empty entries of each `<lang>/LC_MESSAGES/messages.po`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
KEYWORDS = ("_", "gettext", "ngettext", "N_")


def main() -> int:
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    pot = str(HERE / "messages.pot")
    keywords = [arg for word in KEYWORDS for arg in ("-k", word)]
    extract = [pybabel, "extract", "-F", str(ROOT / "babel.cfg"), *keywords, "-o", pot]
    subprocess.run([*extract, "--no-location", "--omit-header", str(ROOT)], check=True)
    for po in sorted(HERE.glob("*/LC_MESSAGES/messages.po")):
        lang = po.parent.parent.name
        update = [pybabel, "update", "-i", pot, "-o", str(po), "-l", lang]
        subprocess.run([*update, "--no-fuzzy-matching"], check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
