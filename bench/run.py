"""Run the benchmarks on a private local stack and print the table.

python -m bench                        all of them, full size (about half an hour)
python -m bench --quick                all of them at a small size (a couple of minutes)
python -m bench --only parse --only memory
python -m bench --only espi             the Green Button format
python -m bench --only validation       the validation rules
python -m bench --only ui_asset_graph   the UI's asset graph in headless Chromium
python -m bench --only end_to_end       a year of 10 and 100 meters, upload to objects and warehouse
python -m bench --json results.json    the table's figures and notes, for BENCHMARKS.md
"""

import argparse
import importlib
import json
import signal
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType

if __package__ in (None, ""):  # python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Result, machine, private_stack, scratch, table  # noqa: E402

BENCHMARKS = (
    "parse",
    "meter_hour_writes",
    "backfill",
    "sensor_tick",
    "memory",
    "warehouse_load",
    "definitions_load",
    "espi",
    "sensor_connectors",
    "completeness_picture",
    "quiet_hours",
    "validation",
    "ui_asset_graph",
    "end_to_end",
)


def load(name: str) -> ModuleType:
    """The benchmark module `name`: its run(size) gives its rows of the table."""
    return importlib.import_module(f"bench.{name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    # Stopped (make's Ctrl-C, a kill): unwind, so that the private stack is stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    selected = args.only or list(BENCHMARKS)
    size = "quick" if args.quick else "full"
    about = machine()
    print(
        f"b8760 benchmarks{' (quick)' if args.quick else ''} on {about['cores']} cores, "
        f"{about['memory_gb']} GB, {about['cpu']}; load average {about['load_average']}",
        flush=True,
    )
    results: list[Result] = []
    failed: dict[str, str] = {}
    timings: dict[str, float] = {}
    with scratch("stack") as state, private_stack(state):
        for name in selected:
            print(f"== {name}", flush=True)
            started = time.perf_counter()
            try:
                found = load(name).run(size)
            except Exception:
                failed[name] = traceback.format_exc()
                print(failed[name], file=sys.stderr, flush=True)
                continue
            finally:
                timings[name] = round(time.perf_counter() - started, 1)
            results.extend(found)
            print(table(found), f"\n({timings[name]} s)", flush=True)
    print("\n" + table(results))
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": about,
                    "size": size,
                    "seconds": timings,
                    "results": [result.to_json() for result in results],
                    "failed": failed,
                },
                indent=2,
                default=str,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
