"""What every workflow script shares: log to the rule's log file, and fail with one clear line.

Snakemake runs `workflow/scripts/*.py` with a `snakemake` object; those scripts stay thin
and call `run(snakemake, main)`. An `NSTError` (a bad image, a bad setting), or a library's error
the user can act on (`nst.errors.from_library`), is written to the log and as one line to stderr,
and the job fails without a Python traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from ..errors import Interrupted, NSTError, from_library, say


def run(snakemake, main) -> None:
    log_path = snakemake.log[0] if len(snakemake.log) else None
    stderr = sys.stderr
    with contextlib.ExitStack() as stack:
        if log_path:
            # appended to: a resumed job's log follows the log of the attempt it resumes
            log_file = stack.enter_context(open(log_path, "a", buffering=1))
            sys.stderr = log_file
            handler = logging.StreamHandler(log_file)
        else:
            handler = logging.StreamHandler(stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
        try:
            main(snakemake)
        except Interrupted as exc:  # SIGTERM from Slurm or Snakemake: the checkpoints hold what was done
            rule = getattr(snakemake, "rule", "job")
            logging.getLogger("nst").error("%s", exc)
            say(f"nst: rule {rule}: {exc}", stderr)
            sys.stderr = stderr
            sys.exit(exc.exit_code)
        except Exception as exc:
            explained = exc if isinstance(exc, NSTError) else from_library(exc)
            if explained is None:
                logging.getLogger("nst").exception("unexpected failure")  # the traceback goes to the log too
                raise
            rule = getattr(snakemake, "rule", "job")
            message = f"nst: error in rule {rule}: {explained}"
            logging.getLogger("nst").error("%s", explained)
            say(message, stderr)
            sys.stderr = stderr
            sys.exit(1)
        finally:
            sys.stderr = stderr
