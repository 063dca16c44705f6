"""The seed document's own gsutil commands, run with the real gsutil against the local stack
and with no credentials anywhere in its environment."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from google.cloud import storage

from b8760_assets import local_stack
from b8760_assets.cli import main
from b8760_assets_tests.stack import isolated_stack

GSUTIL = Path(sys.executable).parent / "gsutil"


@pytest.fixture(scope="module")
def landing_zone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[storage.Bucket]:
    """The landing_zone bucket, made with the Python client pointed at the stack by env_exports."""
    stack_folder = tmp_path_factory.mktemp("gsutil_stack")
    with isolated_stack(stack_folder), pytest.MonkeyPatch.context() as env:
        local_stack.ensure_running("storage")
        for name, value in local_stack.env_exports().items():
            env.setenv(name, value)
        yield storage.Client().create_bucket("landing_zone")


@pytest.fixture
def boto_config(landing_zone) -> Path:
    """The config `eval "$(b8760 local boto)"` exports: every line a shell can evaluate."""
    result = CliRunner().invoke(main, ["local", "boto"])
    comment, export = result.output.splitlines()
    path = export.removeprefix("export BOTO_CONFIG=")
    assert comment == f"# gsutil's config for the local stack: {path}"
    evaluated = subprocess.run(
        ["bash", "-c", 'eval "$0" && echo "$BOTO_CONFIG"', result.output],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert evaluated.stdout.strip() == path and evaluated.stderr == ""
    return Path(path)


def gsutil(*args: str, boto_config: Path, cwd: Path) -> str:
    """Run gsutil with only PATH, a scratch HOME and the boto config: no credentials at all."""
    result = subprocess.run(
        [str(GSUTIL), *args],
        env={"PATH": "/usr/bin:/bin", "HOME": str(cwd), "BOTO_CONFIG": str(boto_config)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_gsutil_cp_downloads_a_landing_zone_file(landing_zone, boto_config, tmp_path):
    landing_zone.blob("ext_conn1/readme.txt").upload_from_string("Read me first.\n")

    gsutil(
        "cp", "gs://landing_zone/ext_conn1/readme.txt", "local-readme.txt",
        boto_config=boto_config, cwd=tmp_path,
    )  # fmt: skip

    assert (tmp_path / "local-readme.txt").read_text() == "Read me first.\n"


@pytest.mark.parametrize(
    "options", [(), ("-o", "GSUtil:resumable_threshold=1")], ids=["as-in-the-seed", "resumable"]
)
def test_gsutil_cp_uploads_to_the_landing_zone(landing_zone, boto_config, tmp_path, options):
    (tmp_path / "somefile").write_text("meter,hour,kwh\n3,2021-11-08T14:00:00,1.5\n")

    gsutil(
        *options, "cp", "somefile", "gs://landing_zone/ext_conn1/somefile.csv",
        boto_config=boto_config, cwd=tmp_path,
    )  # fmt: skip

    uploaded = landing_zone.blob("ext_conn1/somefile.csv").download_as_text()
    assert uploaded == (tmp_path / "somefile").read_text()


def test_gsutil_ls(landing_zone, boto_config, tmp_path):
    landing_zone.blob("ext_conn1/listed.txt").upload_from_string("listed")

    assert "gs://landing_zone/" in gsutil("ls", boto_config=boto_config, cwd=tmp_path).splitlines()
    listing = gsutil("ls", "gs://landing_zone/ext_conn1/", boto_config=boto_config, cwd=tmp_path)
    assert "gs://landing_zone/ext_conn1/listed.txt" in listing.splitlines()
