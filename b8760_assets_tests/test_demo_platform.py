"""The demo's platform: the sample platform, its connectors starting at the demo's hour."""

import difflib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from b8760_assets.cli import main
from b8760_assets.config import load_platform
from b8760_assets.demo_platform import write_demo_platform
from b8760_assets.partitions import HOUR, floor_hour
from b8760_assets.settings import SAMPLE_PLATFORM_DIR

HOUR_19 = datetime(2026, 12, 4, 19, tzinfo=UTC)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("B8760_STATE_DIR", str(tmp_path))
    return tmp_path


def files_under(root: Path) -> list[Path]:
    return sorted(path.relative_to(root) for path in root.rglob("*") if path.is_file())


def changed_lines(sample: Path, copy: Path) -> list[str]:
    diff = difflib.unified_diff(sample.read_text().splitlines(), copy.read_text().splitlines())
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_the_copy_differs_from_the_sample_only_in_each_connectors_start(state_dir: Path) -> None:
    platform = write_demo_platform(HOUR_19)
    assert platform.root == state_dir / "platform"
    assert {c.start_hour for c in platform.connectors.values()} == {HOUR_19}
    sample_files = sorted(
        p.relative_to(SAMPLE_PLATFORM_DIR) for p in SAMPLE_PLATFORM_DIR.rglob("*")
    )
    assert sorted(p.relative_to(platform.root) for p in platform.root.rglob("*")) == sample_files
    for name in sample_files:
        sample, copy = SAMPLE_PLATFORM_DIR / name, platform.root / name
        if sample.is_dir():
            continue
        if name.name != "properties.xml":
            assert copy.read_bytes() == sample.read_bytes(), name
            continue
        [removed, added] = changed_lines(sample, copy)
        assert removed.startswith('-  <entry key="data.start.hour">20'), removed
        assert added == '+  <entry key="data.start.hour">2026-12-04T19:00:00Z</entry>', added


def test_a_later_demo_keeps_the_earliest_start(state_dir: Path) -> None:
    """A demo steps back an hour per earlier demo; the hours any demo ran stay partitions."""
    write_demo_platform(HOUR_19)
    later = write_demo_platform(HOUR_19.replace(hour=20))
    assert {c.start_hour for c in later.connectors.values()} == {HOUR_19}
    earlier = write_demo_platform(HOUR_19.replace(hour=18))
    assert {c.start_hour for c in earlier.connectors.values()} == {HOUR_19.replace(hour=18)}


def test_make_devs_platform_starts_at_the_last_complete_hour(state_dir: Path) -> None:
    """`b8760 local platform`, which `make dev` runs: with no demo before it, the sensor's
    first tick (the last complete hour) is the first partition."""
    before = floor_hour(datetime.now(UTC)) - HOUR
    result = CliRunner().invoke(main, ["local", "platform"])
    after = floor_hour(datetime.now(UTC)) - HOUR
    assert result.exit_code == 0, result.output
    assert result.output == f"{state_dir / 'platform'}\n"
    starts = {c.start_hour for c in load_platform(state_dir / "platform").connectors.values()}
    assert starts in ({before}, {after})


def test_the_demo_refuses_another_platform(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo's uploads are the sample's: it runs on the copy it writes, or not at all."""
    monkeypatch.delenv("B8760_GCP_PROJECT", raising=False)
    monkeypatch.setenv("B8760_PLATFORM_DIR", str(tmp_path / "elsewhere"))
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: the demo runs on the platform it writes, {state_dir / 'platform'} (the sample "
        "platform, starting at the demo's hour): unset B8760_PLATFORM_DIR\n"
    )
