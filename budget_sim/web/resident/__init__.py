"""What residents use: the simulator, submitting, receipts and drafts, the published results and
the privacy page. Nothing here imports the staff workspace or the JSON API."""
