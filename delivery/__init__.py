"""Delivering letters: which ones go out, and the CSV and PDF files staff send or print.

No routes here: the admin views call these operations.
"""

from delivery.export import (
    CSV_HEADER,
    appeal_batches,
    appeals_csv,
    appeals_in_range,
    deliverable_appeals,
    deliverable_solidarity,
    held_by_case,
    safe_cell,
    solidarity_batches,
    solidarity_in_range,
    unrejected_appeals,
)
from delivery.pdf import alignment, appeals_pdf, batch_pdf, solidarity_pdf

__all__ = [
    "CSV_HEADER",
    "alignment",
    "appeal_batches",
    "appeals_csv",
    "appeals_in_range",
    "appeals_pdf",
    "batch_pdf",
    "deliverable_appeals",
    "deliverable_solidarity",
    "held_by_case",
    "safe_cell",
    "solidarity_batches",
    "solidarity_in_range",
    "solidarity_pdf",
    "unrejected_appeals",
]
