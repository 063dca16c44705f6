"""Each benchmark of bench/ (`make bench`) at a toy size on the session's stack: it runs the
platform's real path and produces a sane row. Figures are not checked: these are not timed
tests, only a guard against benchmarks that no longer run."""

import math

import pytest

from bench import run as bench_run
from bench.common import Result, table

pytestmark = pytest.mark.usefixtures("stack_env")


@pytest.mark.parametrize("name", bench_run.BENCHMARKS)
def test_each_benchmark_runs_at_a_toy_size(name: str) -> None:
    results = bench_run.load(name).run("toy")

    assert results
    for result in results:
        assert isinstance(result, Result)
        assert result.benchmark.startswith(f"{bench_run.BENCHMARKS.index(name) + 1}.")
        assert math.isfinite(result.figure) and result.figure >= 0
        assert result.baseline is None or (math.isfinite(result.baseline) and result.baseline > 0)
        assert result.met in (True, False, None)
    assert "| benchmark | figure | baseline | ratio | target | met? |" in table(results)
