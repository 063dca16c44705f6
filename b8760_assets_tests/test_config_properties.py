"""properties.xml: every key read, every rule broken, and XML that tries to escape the file."""

import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from b8760_assets.config import ConfigError, ConfigProblem, ConnectorProperties, read_properties
from b8760_assets.config.csv_layout import CsvLayout
from b8760_assets.config.properties import (
    DEFAULT_GRACE_HOURS,
    DEFAULT_MAX_FILE_BYTES,
    NO_CADENCE,
)
from b8760_assets_tests.config_files import (
    CONED,
    declared_entity_problem,
    line_of,
    properties_xml,
    write_properties,
)
from b8760_assets_tests.download_my_data import LAYOUT as DOWNLOAD_MY_DATA


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        read_properties(path)
    return [str(problem) for problem in raised.value.problems]


def with_value(key: str, value: str) -> dict[str, str]:
    return {**CONED, key: value}


def write_raw(tmp_path: Path, text: str) -> Path:
    """A coned properties.xml with exactly this text."""
    path = tmp_path / "coned" / "properties.xml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_reads_every_key(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned")

    assert read_properties(path) == ConnectorProperties(
        name="coned",
        participant="participant_1",
        bucket="participant_1",
        external=False,
        formats=("csv",),
        timezone="America/New_York",
        unit="kWh",
        start_hour=datetime(2021, 11, 1, tzinfo=UTC),
        max_file_bytes=1048576,
        source=path,
    )


def test_validation_thresholds_are_read_and_default_as_documented(tmp_path: Path) -> None:
    entries = {
        **CONED,
        "validation.spike.ratio": "4.5",
        "validation.zero.run.hours": "12",
        "validation.estimate.max.minutes": "90",
    }
    set_all = read_properties(write_properties(tmp_path / "a" / "coned", entries))
    defaults = read_properties(write_properties(tmp_path / "b" / "coned"))

    assert (set_all.spike_ratio, set_all.zero_run_hours, set_all.estimate_max_minutes) == (
        4.5,
        12.0,
        90.0,
    )
    assert (defaults.spike_ratio, defaults.zero_run_hours) == (10.0, 24.0)
    assert defaults.estimate_max_minutes is None  # no gap is estimated


def test_the_register_tolerance_is_read_and_defaults_to_one_percent(tmp_path: Path) -> None:
    entries = {**CONED, "validation.register.tolerance.percent": "0.5"}
    set_it = read_properties(write_properties(tmp_path / "a" / "coned", entries))
    default = read_properties(write_properties(tmp_path / "b" / "coned"))

    assert (set_it.register_tolerance_percent, default.register_tolerance_percent) == (0.5, 1.0)


def test_external_connector_and_default_max_file_size(tmp_path: Path) -> None:
    entries = {**CONED, "connector.name": "ext_conn1", "connector.external": "true"}
    del entries["file.max.bytes"]
    path = write_properties(tmp_path / "ext_conn1", entries)

    connector = read_properties(path)

    assert (connector.name, connector.external) == ("ext_conn1", True)
    assert connector.max_file_bytes == DEFAULT_MAX_FILE_BYTES


def test_a_connector_without_a_cadence_is_expected_at_none(tmp_path: Path) -> None:
    connector = read_properties(write_properties(tmp_path / "coned"))

    assert (connector.delivery_cadence, connector.cadence_hours) == (NO_CADENCE, None)
    assert connector.delivery_grace_hours == DEFAULT_GRACE_HOURS


@pytest.mark.parametrize(
    ("cadence", "grace", "hours"), [("hourly", "0", 1), ("daily", "3", 24), ("weekly", "168", 168)]
)
def test_delivery_cadence_and_grace(tmp_path: Path, cadence: str, grace: str, hours: int) -> None:
    entries = {**CONED, "delivery.cadence": cadence, "delivery.grace.hours": grace}

    connector = read_properties(write_properties(tmp_path / "coned", entries))

    assert (connector.cadence_hours, connector.delivery_grace_hours) == (hours, int(grace))


def test_values_are_read_without_surrounding_whitespace(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", with_value("data.unit", "\n    MWh\n  "))

    assert read_properties(path).unit == "MWh"


def test_start_hour_with_a_zero_offset_is_utc(tmp_path: Path) -> None:
    path = write_properties(
        tmp_path / "coned", with_value("data.start.hour", "2021-11-01T05:00:00+00:00")
    )

    start = read_properties(path).start_hour

    assert start == datetime(2021, 11, 1, 5, tzinfo=UTC)
    assert start.tzinfo is UTC


def test_unknown_key_names_file_line_key_and_the_key_it_resembles(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", {**CONED, "data.units": "kWh"})

    assert problems_of(path) == [
        f"{path}:{line_of(path, 'data.units')}: data.units: unknown key; did you mean data.unit?"
    ]


def test_unknown_key_unlike_any_lists_the_keys(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", {**CONED, "colour": "blue"})

    (problem,) = problems_of(path)
    assert problem.startswith(
        f"{path}:{line_of(path, 'colour')}: colour: unknown key; the keys are connector.name, "
    )
    assert "data.start.hour" in problem


def test_missing_required_key_is_reported_at_the_properties_element(tmp_path: Path) -> None:
    entries = dict(CONED)
    del entries["data.timezone"]
    path = write_properties(tmp_path / "coned", entries)

    assert problems_of(path) == [
        f"{path}:{line_of(path, '<properties>')}: data.timezone: missing required key"
    ]


def test_every_missing_key_is_reported(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", {})

    problems = problems_of(path)

    assert [problem.split(": ")[1] for problem in problems] == [
        key for key in CONED if key != "file.max.bytes"
    ]
    assert all(problem.endswith(": missing required key") for problem in problems)


def test_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", [*CONED.items(), ("connector.external", "true")])
    first, second = line_of(path, "connector.external"), line_of(path, "connector.external", 2)

    assert problems_of(path) == [
        f"{path}:{second}: connector.external: duplicate key; first set on line {first}"
    ]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("connector.name", "ConEd", "'ConEd' is not a valid connector name"),
        ("connector.name", "coned/raw", "'coned/raw' is not a valid connector name"),
        ("connector.name", "c" * 64, "is not a valid connector name"),
        ("connector.external", "yes", "'yes' is not a boolean; write true or false"),
        ("connector.external", "True", "'True' is not a boolean"),
        ("participant.name", "participant-1", "'participant-1' is not a valid participant name"),
        ("participant.bucket", "ab", "'ab' is not a valid GCS bucket name"),
        ("participant.bucket", "Participant_1", "is not a valid GCS bucket name"),
        ("participant.bucket", "-participant", "is not a valid GCS bucket name"),
        ("participant.bucket", "b" * 64, "is not a valid GCS bucket name"),
        ("participant.bucket", "192.168.5.4", "'192.168.5.4' is not a valid GCS bucket name"),
        ("participant.bucket", "goog-data", "'goog-data' is not a valid GCS bucket name"),
        ("participant.bucket", "my-google-data", "is not a valid GCS bucket name"),
        ("file.formats", "json", "unknown file format 'json'; expected one of csv"),
        ("file.formats", "csv,", "unknown file format ''"),
        ("file.formats", "csv, csv", "'csv, csv' names a file format twice"),
        ("file.max.bytes", "0", "'0' is not a positive whole number of bytes"),
        ("file.max.bytes", "-5", "'-5' is not a positive whole number of bytes"),
        ("file.max.bytes", "1e6", "'1e6' is not a positive whole number of bytes"),
        ("file.max.bytes", "1_000", "'1_000' is not a positive whole number of bytes"),
        ("file.max.bytes", "١٢", "is not a positive whole number of bytes"),
        ("data.timezone", "Eastern", "'Eastern' is not an IANA time zone name"),
        ("data.timezone", "UTC-05:00", "'UTC-05:00' is not an IANA time zone name"),
        ("data.timezone", "../../etc/passwd", "is not an IANA time zone name"),
        ("data.timezone", "america/new_york", "is not an IANA time zone name"),
        ("data.unit", "kwh", "unknown unit 'kwh'; expected one of MMBtu, MW, MWh, W, Wh, ccf"),
        ("data.unit", "MJ", "unknown unit 'MJ'"),
        ("data.start.hour", "2021-11-01T00:30:00Z", "'2021-11-01T00:30:00Z' is not on the hour"),
        ("data.start.hour", "2021-11-01T00:00:00", "'2021-11-01T00:00:00' is not a UTC time"),
        ("data.start.hour", "2021-11-01T00:00:00-04:00", "is not a UTC time"),
        ("data.start.hour", "2021-11-01", "'2021-11-01' is not a UTC time"),
        ("data.start.hour", "November 1st", "'November 1st' is not a UTC time"),
        ("validation.spike.ratio", "0", "'0' is not a positive spike ratio"),
        ("validation.spike.ratio", "-3", "'-3' is not a positive spike ratio"),
        ("validation.spike.ratio", "1e1", "'1e1' is not a spike ratio; write a decimal number"),
        ("validation.zero.run.hours", "nan", "'nan' is not a number of hours"),
        ("validation.zero.run.hours", "0.0", "'0.0' is not a positive number of hours"),
        ("validation.estimate.max.minutes", "0", "'0' is not a positive number of minutes"),
        ("validation.estimate.max.minutes", "2h", "'2h' is not a number of minutes"),
        ("validation.estimate.max.minutes", "1441", "'1441' minutes is more than a day"),
        ("validation.register.tolerance.percent", "0", "'0' is not a positive percentage"),
        ("validation.register.tolerance.percent", "1%", "'1%' is not a percentage"),
        ("delivery.cadence", "Hourly", "unknown delivery cadence 'Hourly'; expected one of daily"),
        ("delivery.cadence", "2h", "unknown delivery cadence '2h'"),
        ("delivery.grace.hours", "169", "'169' is not a whole number of hours from 0 to 168"),
        ("delivery.grace.hours", "-1", "'-1' is not a whole number of hours"),
        ("delivery.grace.hours", "1.5", "'1.5' is not a whole number of hours"),
    ],
)
def test_bad_value(tmp_path: Path, key: str, value: str, message: str) -> None:
    path = write_properties(tmp_path / "coned", with_value(key, value))

    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(path, key)}: {key}: ")
    assert message in problem


def test_connector_name_must_be_its_folder_name(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned_gas")

    assert problems_of(path) == [
        f"{path}:{line_of(path, 'connector.name')}: connector.name: 'coned' differs from its "
        "folder 'coned_gas'; a connector's properties.xml lives in connectors/<connector.name>/"
    ]


def test_every_problem_in_a_file_is_reported(tmp_path: Path) -> None:
    entries = with_value("data.unit", "kwh")
    del entries["data.start.hour"]
    path = write_properties(
        tmp_path / "coned",
        [*entries.items(), ("data.zone", "UTC"), ("connector.external", "false")],
    )

    assert [problem.split(": ")[:2] for problem in problems_of(path)] == [
        [f"{path}:{line_of(path, 'data.unit')}", "data.unit"],
        [f"{path}:{line_of(path, 'data.zone')}", "data.zone"],
        [f"{path}:{line_of(path, 'connector.external', 2)}", "connector.external"],
        [f"{path}:{line_of(path, '<properties>')}", "data.start.hour"],
    ]


def test_element_other_than_entry_breaks_the_structure(tmp_path: Path) -> None:
    entry = '<entry key="data.unit">kWh</entry>'
    text = properties_xml(CONED.items()).replace(entry, "<unit>kWh</unit>")
    path = write_raw(tmp_path, text)

    assert problems_of(path) == [
        f"{path}:{line_of(path, '<unit>')}: Element 'unit': This element is not expected. "
        "Expected is ( entry )."
    ]


def test_entry_without_key_breaks_the_structure(tmp_path: Path) -> None:
    text = properties_xml(CONED.items()).replace('<entry key="data.unit">', "<entry>")
    path = write_raw(tmp_path, text)

    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:{line_of(path, '<entry>')}: Element 'entry': ")
    assert "The attribute 'key' is required but missing" in problem


def test_malformed_xml_reports_the_line(tmp_path: Path) -> None:
    path = write_raw(tmp_path, properties_xml(CONED.items()).replace("kWh</entry>", "kWh</entri>"))
    line = line_of(path, "</entri>")

    assert problems_of(path) == [
        f"{path}:{line}: Opening and ending tag mismatch: entry line {line} and entri"
    ]


def test_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "coned" / "properties.xml"

    assert problems_of(path) == [f"{path}: cannot read the file: No such file or directory"]


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT\n")
    return secret


@pytest.mark.parametrize("target", ["secret", "/etc/passwd"])
def test_external_entity_is_never_read(tmp_path: Path, secret_file: Path, target: str) -> None:
    target_path = secret_file if target == "secret" else Path(target)
    doctype = f'<!DOCTYPE properties [<!ENTITY x SYSTEM "{target_path.as_uri()}">]>'
    text = properties_xml(with_value("participant.name", "&x;").items(), doctype)
    path = write_raw(tmp_path, text)

    problems = problems_of(path)

    assert problems == [declared_entity_problem(path, "x")]
    assert target_path.read_text().splitlines()[0] not in "\n".join(problems)


def test_external_entity_in_an_attribute_is_refused(tmp_path: Path, secret_file: Path) -> None:
    doctype = f'<!DOCTYPE properties [<!ENTITY x SYSTEM "{secret_file.as_uri()}">]>'
    path = write_raw(tmp_path, properties_xml([*CONED.items(), ("&x;", "1")], doctype))

    problems = problems_of(path)

    assert problems == [declared_entity_problem(path, "x")]
    assert "TOP-SECRET" not in "\n".join(problems)


def test_billion_laughs_stops_quickly_with_a_clear_error(tmp_path: Path) -> None:
    laughs = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    doctype = "<!DOCTYPE properties [\n" + "\n".join(laughs) + "\n]>"
    text = properties_xml(with_value("participant.name", "&lol9;").items(), doctype)
    path = write_raw(tmp_path, text)

    started = time.monotonic()
    problems = problems_of(path)

    assert time.monotonic() - started < 2
    assert problems == [declared_entity_problem(path, "lol0")]


@pytest.mark.parametrize(
    "declaration, name", [('<!ENTITY x "a value">', "x"), ('<!ENTITY % x "">', "%x")]
)
def test_an_entity_is_refused_where_it_is_declared_even_unused(
    tmp_path: Path, declaration: str, name: str
) -> None:
    doctype = f"<!DOCTYPE properties [\n{declaration}\n]>"
    path = write_raw(tmp_path, properties_xml(CONED.items(), doctype))

    assert problems_of(path) == [declared_entity_problem(path, name)]


class DtdServer(BaseHTTPRequestHandler):
    """Serves a DTD that declares an entity, and remembers every request."""

    requests: list[str] = []

    def do_GET(self) -> None:
        DtdServer.requests.append(self.path)
        body = b'<!ENTITY zone "America/New_York">'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_doctype_is_never_fetched(tmp_path: Path) -> None:
    server = HTTPServer(("127.0.0.1", 0), DtdServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    doctype = f'<!DOCTYPE properties SYSTEM "http://127.0.0.1:{server.server_port}/p.dtd">'
    try:
        path = write_raw(tmp_path, properties_xml(CONED.items(), doctype))
        assert read_properties(path).name == "coned"

        path.write_text(properties_xml(with_value("data.timezone", "&zone;").items(), doctype))
        assert problems_of(path) == [
            f"{path}:{line_of(path, '&zone;')}: entity reference &zone; is not expanded; "
            "write the value itself"
        ]
    finally:
        server.shutdown()
        server.server_close()
    assert DtdServer.requests == []


@pytest.mark.parametrize(
    ("line", "key", "text"),
    [
        (7, "data.unit", "c/properties.xml:7: data.unit: bad"),
        (None, "data.unit", "c/properties.xml: data.unit: bad"),
        (7, None, "c/properties.xml:7: bad"),
        (None, None, "c/properties.xml: bad"),
    ],
)
def test_problem_reads_file_line_key_message(line: int | None, key: str | None, text: str) -> None:
    assert str(ConfigProblem(Path("c/properties.xml"), line, key, "bad")) == text


def test_config_error_lists_every_problem_one_per_line() -> None:
    problems = [
        ConfigProblem(Path("a.xml"), 1, "k", "one"),
        ConfigProblem(Path("b.xml"), 2, None, "two"),
    ]

    error = ConfigError(problems)

    assert error.problems == problems
    assert str(error) == "a.xml:1: k: one\nb.xml:2: two"


# CSV layouts (file.csv.*)


def test_a_csv_layout_is_read_from_its_keys(tmp_path: Path) -> None:
    path = write_properties(tmp_path / "coned", {**CONED, **DOWNLOAD_MY_DATA})

    assert read_properties(path).csv_layout == CsvLayout(
        skip_rows=5,
        meter_column=None,
        fixed_meter="DMD-1",
        date_column="DATE",
        start_column="START TIME",
        end_column="END TIME",
        end="inclusive_minute",
        value_column="USAGE",
        unit_column="UNITS",
        ignored_columns=("TYPE", "COST", "NOTES"),
        timestamp_format="%Y-%m-%d %H:%M",
        dst_repeated="file_order",
    )


def test_no_layout_key_is_the_platforms_own_layout(tmp_path: Path) -> None:
    assert read_properties(write_properties(tmp_path / "coned")).csv_layout == CsvLayout()


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        (
            {"file.csv.column.meter_id": "METER"},
            "file.csv.column.meter_id",
            "set file.csv.column.meter_id or file.csv.meter, not both",
        ),
        (
            {"file.csv.interval.minutes": "15"},
            "file.csv.interval.minutes",
            "set file.csv.column.end or file.csv.interval.minutes, not both",
        ),
        (
            {"file.csv.timestamp.format": None},
            "file.csv.column.date",
            "needs file.csv.timestamp.format, the format of the wall times",
        ),
        (
            {"file.csv.timestamp.format": "%Y-%m-%d %H"},
            "file.csv.timestamp.format",
            "'%Y-%m-%d %H' does not read back the wall time it writes (2021-11-07 13:45); "
            "give year, month, day, hour and minute, e.g. %Y-%m-%d %H:%M",
        ),
        (
            {"file.csv.timestamp.format": "%Y-%m-%dT%H:%M%z"},
            "file.csv.timestamp.format",
            "'%Y-%m-%dT%H:%M%z' reads a UTC offset; a layout's timestamps are wall times in "
            "data.timezone (leave the key out for ISO 8601 times with offsets)",
        ),
        (
            {"file.csv.dst.repeated": "latest"},
            "file.csv.dst.repeated",
            "unknown rule for a repeated wall time 'latest'; expected one of file_order, "
            "first, reject, second",
        ),
        (
            {"file.csv.dst.missing": "file_order"},
            "file.csv.dst.missing",
            "unknown rule for a missing wall time 'file_order'; expected one of first, "
            "reject, second",
        ),
        (
            {"file.csv.ignore.columns": "TYPE,USAGE"},
            "file.csv.ignore.columns",
            "column 'USAGE' is named for two parts; a header's column is one part's",
        ),
        (
            {"file.csv.skip.rows": "-1"},
            "file.csv.skip.rows",
            "'-1' is not a whole number of lines from 0 to 1000",
        ),
        (
            {"file.csv.meter": "meter 1"},
            "file.csv.meter",
            "'meter 1' is not a valid meter id",
        ),
        (
            {"file.csv.separator": "|"},
            "file.csv.separator",
            "unknown field separator '|'; expected one of ,, ;, tab",
        ),
        (
            {"file.formats": "espi"},
            "file.csv.skip.rows",
            "the connector takes no csv files; add csv to file.formats",
        ),
    ],
)
def test_a_layout_problem_is_at_its_keys_line(
    tmp_path: Path, changes: dict[str, str | None], key: str, message: str
) -> None:
    entries = {**CONED, **DOWNLOAD_MY_DATA, **changes}
    path = write_properties(tmp_path / "coned", {k: v for k, v in entries.items() if v is not None})

    problems = problems_of(path)

    line = line_of(path, f'"{key}"')
    assert problems[0].startswith(f"{path}:{line}: {key}: {message}")
