"""7. Definitions load time: a generated platform of 200 connectors and 20,000 meters against
the sample platform (3 connectors, 12 meters).

The figure is what Dagster does when it loads the code location: a fresh process that
imports `b8760_assets.definitions` and calls its root `defs()` (which reads and validates
every properties.xml and meter XML file and builds a chain of three assets per connector)
and then builds the repository's snapshot, as a code server does before the UI shows it.
The process is timed from its launch to the snapshot (the interpreter and `import dagster`
included; its exit not), best of three; the time of `dagster definitions validate` is in
the notes. Targets: under 5 s for the generated platform, and under 10 s for one at the
scale one landing bucket's IAM policy holds (1,500 connectors, 150,000 meters; issue 16).
"""

import subprocess
import sys
import time
from pathlib import Path

from bench.common import (
    CHECKOUT,
    Result,
    dagster_home,
    environment,
    run_python,
    scratch,
    write_platform,
)

NAME = "definitions_load"
# connectors, meters per connector, loads timed, whether `dagster definitions validate` is
# too, and the target in seconds: a platform of each size in SIZES[size], in order.
Platform = tuple[int, int, int, bool, float]
SIZES: dict[str, tuple[Platform, ...]] = {
    "full": ((200, 100, 3, True, 5.0), (1_500, 100, 3, False, 10.0)),
    "quick": ((20, 100, 3, True, 5.0),),
    "toy": ((2, 5, 1, False, 5.0), (3, 5, 1, False, 10.0)),
}

PROBE = """
import json, time
started = time.perf_counter()
import dagster as dg
imported = time.perf_counter()
from b8760_assets.definitions import defs
location = defs()
built = time.perf_counter()
from dagster._core.remote_representation.external_data import RepositorySnap
repository = location.get_repository_def()
snapshot = RepositorySnap.from_def(repository)
done = time.perf_counter()
print(json.dumps({"import_dagster": imported - started, "build_definitions": built - imported,
                  "repository_snapshot": done - built, "assets": len(snapshot.asset_nodes),
                  "loaded_at": time.time()}))
"""


def load(platform: Path | None, repeats: int, validate: bool) -> dict:
    runs = []
    with (
        scratch("home") as folder,
        dagster_home(folder),
        environment(B8760_PLATFORM_DIR=str(platform) if platform else None),
    ):
        for _ in range(repeats):
            started = time.time()
            parts = run_python(PROBE)
            parts["total"] = parts.pop("loaded_at") - started  # launch to loaded, not to exit
            runs.append(parts)
        best = min(runs, key=lambda run: run["total"])
        if validate:
            started = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).parent / "dagster"), "definitions", "validate",
                 "-m", "b8760_assets.definitions"],
                cwd=CHECKOUT, check=True, capture_output=True, timeout=600,
            )  # fmt: skip
            best["dagster_definitions_validate"] = time.perf_counter() - started
    return best


def run(size: str = "full") -> list[Result]:
    platforms = SIZES[size]
    sample = load(None, max(p[2] for p in platforms), any(p[3] for p in platforms))
    results = []
    for connectors, meters, repeats, validate, limit_s in platforms:
        with scratch(NAME) as folder:
            platform = write_platform(folder / "platform", connectors, meters, participants=20)
            generated = load(platform, repeats, validate)
        results.append(
            Result(
                benchmark="7. definitions load",
                figure=generated["total"],
                figure_unit="s",
                figure_label=f"{connectors:,} connectors, {connectors * meters:,} meters",
                baseline=sample["total"],
                baseline_unit="s",
                baseline_label="sample platform",
                better="lower",
                target_text=f"< {limit_s:g} s",
                met=generated["total"] < limit_s,
                notes={"generated": generated, "sample": sample},
            )
        )
    return results
