"""`tokencancel bulk`: many tokens, one provider, paced at the provider's rate limit, resumable.

One file per idea: `pacing` (the limiter and the paced transport), `input` (plain, CSV, JSONL,
read bounded), `output` (the locked, append-only results file, which is also the resume state),
`outcomes` (how a result or an error is written down), `summary` (counts, pace, exit code, the
progress line), `run` (the input thread, the workers and the stops) and `command` (the command
line).
"""

from .command import MAX_CONCURRENCY, add_bulk_arguments, run_bulk_command
from .input import FieldRules, InputRecord, InputRefused, read_records
from .outcomes import DONE_OUTCOMES
from .output import BulkFileError, OutputLog
from .pacing import PacingLimiter, SendSlot, WireLog
from .run import STOP_SIGNALS, open_paced_client, run_bulk
from .summary import BulkSummary

__all__ = [
    "DONE_OUTCOMES",
    "MAX_CONCURRENCY",
    "STOP_SIGNALS",
    "BulkFileError",
    "BulkSummary",
    "FieldRules",
    "InputRecord",
    "InputRefused",
    "OutputLog",
    "PacingLimiter",
    "SendSlot",
    "WireLog",
    "add_bulk_arguments",
    "open_paced_client",
    "read_records",
    "run_bulk",
    "run_bulk_command",
]
