"""The command line every job shares: `--conf`, `--set`, a run that commits all or nothing."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from catalogbridge.io.readers import InputError
from catalogbridge.pipeline.config import load_config
from catalogbridge.pipeline.runner import Run, run_stages
from catalogbridge.pipeline.stages import STAGE_BY_NAME
from catalogbridge.settings import ConfigError

log = logging.getLogger("catalogbridge")


def parse_args(argv: Sequence[str] | None, description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--conf", default="conf/local.yaml",
                        help="YAML config (an overlay such as conf/local.yaml or conf/cluster.yaml)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a config key, e.g. --set "
                        "scenario.scope=all (repeatable)")
    parser.add_argument("--as-of", metavar="RUN_ID", default=None,
                        help="read the tables as run RUN_ID left them (Delta) and rebuild "
                        "exports and reports from them under exports/as_of_RUN_ID/")
    return parser.parse_args(argv)


def run_main(argv: Sequence[str] | None, description: str,
             stages: Sequence[str] | None = None) -> int:
    """Parse, configure, run the stages, commit; a failed run commits nothing.

    User errors (config, inputs) print one clear message and exit 2; anything else is
    re-raised after the run's staged tables are dropped.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = parse_args(argv, description)
    try:
        cfg = load_config(args.conf, args.overrides)
        run = Run.start(cfg, as_of=args.as_of)
    except (ConfigError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        run_stages(run, stages)
        started = time.perf_counter()
        committed = run.store.commit()
        log.info("run %s: %d tables committed in %.1f s", run.run_id, len(committed),
                 time.perf_counter() - started)
    except InputError as exc:
        run.store.discard()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        run.store.discard()
        log.error("run %s failed; the previous run's tables are unchanged", run.run_id)
        raise
    run.record_versions()
    log.info("run %s done: %d %s tables committed in %s; exports in %s", run.run_id,
             len(committed), run.store.format, cfg.output.path, run.exports)
    return 0


class Main(Protocol):
    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


def stage_main(module_file: str) -> Main:
    """`main(argv)` for the job module of one stage (`jobs/<stage name>.py`, its `__file__`:
    under `python -m` its `__name__` is `__main__`)."""
    stage = STAGE_BY_NAME[Path(module_file).stem]

    def main(argv: Sequence[str] | None = None) -> int:
        return run_main(argv, f"Stage {stage.name}: {stage.summary}", [stage.name])

    return main
