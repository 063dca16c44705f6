"""Green Button files for the tests: the public samples in fixtures/greenbutton/, what another
parser read from them, and small feeds written to order."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import etree

FIXTURES = Path(__file__).parent / "fixtures" / "greenbutton"
SAMPLES = FIXTURES / "greenbutton_objects"
ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
BASE = "/espi/1_1/resource/RetailCustomer/9B6C7066"


def usage_points(path: Path) -> list[str]:
    """The self hrefs of the UsagePoint entries of a feed, read with plain lxml."""
    tree = etree.parse(str(path))
    return tree.xpath(
        "//a:entry[a:content/e:UsagePoint]/a:link[@rel='self']/@href",
        namespaces={"a": ATOM, "e": ESPI},
    )


@dataclass(frozen=True)
class Expected:
    """One interval as the other parser printed it."""

    start: datetime
    duration: timedelta
    value: float
    unit: str
    quality: str | None


_LINE = re.compile(
    r"^\s+(?P<start>\S+ \S+), (?P<duration>(?:\d+ days?, )?\d+:\d\d:\d\d): "
    r"(?P<value>-?[\d.]+) (?P<unit>[A-Za-z0-9]+)(?:\(\$[^)]*\))?(?: \[(?P<quality>\w+)\])?$"
)


def expected_intervals(name: str) -> list[Expected]:
    """The intervals of expected/<name>.txt (its files hold one UsagePoint and MeterReading)."""
    found = []
    for line in (SAMPLES / "expected" / f"{name}.txt").read_text().splitlines():
        match = _LINE.match(line)
        if match is None:
            assert not line.startswith(" ") or not line.strip(), f"unread line {line!r}"
            continue
        days, _, clock = match["duration"].rpartition(", ")
        hours, minutes, seconds = map(int, clock.split(":"))
        duration = timedelta(
            days=int(days.split()[0]) if days else 0, hours=hours, minutes=minutes, seconds=seconds
        )
        found.append(
            Expected(
                datetime.fromisoformat(match["start"]).astimezone(UTC),
                duration,
                float(match["value"]),
                match["unit"],
                match["quality"],
            )
        )
    return found


def reading(start: int, value: object, duration: int | None = 900, *qualities: str) -> str:
    """An IntervalReading: start in epoch seconds, with its ReadingQuality codes."""
    quality = "".join(f"<ReadingQuality><quality>{q}</quality></ReadingQuality>" for q in qualities)
    length = "" if duration is None else f"<duration>{duration}</duration>"
    return (
        f"<IntervalReading>{quality}<timePeriod>{length}<start>{start}</start></timePeriod>"
        f"<value>{value}</value></IntervalReading>"
    )


def entry(self_href: str, content: str, *related: str, up: str | None = None) -> str:
    links = [f'<link rel="self" href="{self_href}"/>']
    if up is not None:
        links.append(f'<link rel="up" href="{up}"/>')
    links += [f'<link rel="related" href="{href}"/>' for href in related]
    return "\n".join(["<entry>", *links, f"<content>{content}</content>", "</entry>"])


def channel(
    point: str = "UP1",
    meter_reading: str = "01",
    readings: list[str] | None = None,
    *,
    reading_type: str = "<uom>72</uom><flowDirection>1</flowDirection>",
    reading_type_id: str | None = None,
) -> list[str]:
    """The entries of one UsagePoint's MeterReading (in the usual order: UsagePoint,
    MeterReading, ReadingType, IntervalBlock), its readings 15-minute Wh from 2022-03-01."""
    usage_point = f"{BASE}/UsagePoint/{point}"
    reading_href = f"{usage_point}/MeterReading/{meter_reading}"
    kind = f"/espi/1_1/resource/ReadingType/{reading_type_id or point + meter_reading}"
    readings = readings or [reading(1646092800 + 900 * n, 100 + n) for n in range(4)]
    return [
        entry(
            usage_point,
            f'<UsagePoint xmlns="{ESPI}"><ServiceCategory><kind>0</kind></ServiceCategory>'
            "</UsagePoint>",
            f"{usage_point}/MeterReading",
            up=f"{BASE}/UsagePoint",
        ),
        entry(
            reading_href,
            f'<MeterReading xmlns="{ESPI}"/>',
            f"{reading_href}/IntervalBlock",
            kind,
            up=f"{usage_point}/MeterReading",
        ),
        entry(kind, f'<ReadingType xmlns="{ESPI}">{reading_type}</ReadingType>'),
        entry(
            f"{reading_href}/IntervalBlock/1",
            f'<IntervalBlock xmlns="{ESPI}">' + "".join(readings) + "</IntervalBlock>",
            up=f"{reading_href}/IntervalBlock",
        ),
    ]


def feed(*entries: str, prolog: str = "") -> bytes:
    """A feed of these entries, one element a line, so that line numbers can be asserted."""
    body = "\n".join(entries).replace("><", ">\n<")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}<feed xmlns="{ATOM}">\n'
        f"<id>urn:uuid:test</id>\n{body}\n</feed>\n"
    ).encode()


def usage_point_href(point: str = "UP1") -> str:
    return f"{BASE}/UsagePoint/{point}"


def line_of(data: bytes, text: str, occurrence: int = 1) -> int:
    lines = data.decode().splitlines()
    return [number for number, line in enumerate(lines, 1) if text in line][occurrence - 1]
