"""8. Green Button read + check + normalize, readings/s, against a bare lxml iterparse of the
same file; and its peak RSS, flat as the file grows.

The file: a Green Button feed of 100 UsagePoints, each a year of 15-minute readings (one
IntervalBlock a day, 3.5 M readings, about 830 MB), as utilities write them (indented, a cost
per reading), every UsagePoint read by a meter of the connector's meter XML. The figure is
the platform's path from a downloaded file to standardized rows, as benchmark 1 times it for
CSV (`bench.parse.standardize_file`: the landing check writing the checked readings, then
those read back and normalized). The baseline is the least a streaming reader of the file
can do with lxml: `etree.iterparse` over every element's end, each entry cleared once read
(else memory grows with the file), in the same run. Each is timed twice, alternating, after
a warm-up; the faster of each counts.

Memory: the platform's path, in a fresh process, on the file and on one of a quarter of its
UsagePoints; its peak RSS (VmHWM) must stay flat: at most FLAT times the smaller file's.
"""

import random
from pathlib import Path

from bench.common import MB, Result, alternating, run_python, scratch, write_platform
from bench.parse import standardize_file

NAME = "espi"
TARGET = 0.5
FLAT = 1.25
SIZES = {"full": (100, 365), "quick": (10, 30), "toy": (2, 1)}  # UsagePoints, days
FIRST_DAY = 1609459200  # 2021-01-01T00:00:00Z
READINGS_PER_DAY = 96
RESOURCE = "/espi/1_1/resource"
ATOM_ENTRY = "{http://www.w3.org/2005/Atom}entry"

PROBE = """
import json, sys
from pathlib import Path
from b8760_assets.config import load_platform
from bench.common import peak_rss_mb
from bench.parse import standardize_file

platform = load_platform(Path(sys.argv[1]))
[connector] = platform.connectors.values()
rows = standardize_file(Path(sys.argv[2]), connector, {m.id: m for m in platform.meters})
print(json.dumps({"rows": rows, "peak_rss_mb": peak_rss_mb()}))
"""


def usage_point(meter_id: str) -> str:
    return f"{RESOURCE}/RetailCustomer/1/UsagePoint/{meter_id}"


def write_feed(path: Path, meter_ids: list[str], days: int) -> int:
    """A feed of a UsagePoint per meter, `days` of 15-minute Wh readings each; the readings."""
    rng = random.Random(1)
    with open(path, "w") as file:
        file.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        file.write('<feed xmlns="http://www.w3.org/2005/Atom">\n  <id>urn:uuid:bench</id>\n')
        file.write(
            f'  <entry>\n    <link rel="self" href="{RESOURCE}/ReadingType/1"/>\n'
            '    <content>\n      <ReadingType xmlns="http://naesb.org/espi">\n'
            "        <accumulationBehaviour>4</accumulationBehaviour>\n"
            "        <commodity>1</commodity>\n        <flowDirection>1</flowDirection>\n"
            "        <intervalLength>900</intervalLength>\n"
            "        <powerOfTenMultiplier>0</powerOfTenMultiplier>\n        <uom>72</uom>\n"
            "      </ReadingType>\n    </content>\n  </entry>\n"
        )
        for meter_id in meter_ids:
            point = usage_point(meter_id)
            reading = f"{point}/MeterReading/1"
            file.write(_entry(point, "<UsagePoint/>", related=[f"{point}/MeterReading"]))
            file.write(
                _entry(
                    reading,
                    "<MeterReading/>",
                    up=f"{point}/MeterReading",
                    related=[f"{reading}/IntervalBlock", f"{RESOURCE}/ReadingType/1"],
                )
            )
            for day in range(days):
                file.write(_block(f"{reading}/IntervalBlock", day, rng))
        file.write("</feed>\n")
    return len(meter_ids) * days * READINGS_PER_DAY


def _entry(href: str, content: str, *, up: str | None = None, related: list[str]) -> str:
    links = [f'    <link rel="self" href="{href}"/>']
    if up is not None:
        links.append(f'    <link rel="up" href="{up}"/>')
    links += [f'    <link rel="related" href="{each}"/>' for each in related]
    resource = content.replace("/>", ' xmlns="http://naesb.org/espi"/>')
    return "  <entry>\n" + "\n".join(links) + f"\n    <content>{resource}</content>\n  </entry>\n"


def _block(blocks: str, day: int, rng: random.Random) -> str:
    start = FIRST_DAY + day * 86400
    readings = "".join(
        "        <IntervalReading>\n"
        f"          <cost>{rng.randrange(2000)}</cost>\n"
        "          <timePeriod>\n            <duration>900</duration>\n"
        f"            <start>{start + 900 * n}</start>\n          </timePeriod>\n"
        f"          <value>{rng.randrange(1000)}</value>\n        </IntervalReading>\n"
        for n in range(READINGS_PER_DAY)
    )
    return (
        f'  <entry>\n    <link rel="self" href="{blocks}/{day}"/>\n'
        f'    <link rel="up" href="{blocks}"/>\n    <content>\n'
        '      <IntervalBlock xmlns="http://naesb.org/espi">\n'
        f"        <interval><duration>86400</duration><start>{start}</start></interval>\n"
        f"{readings}      </IntervalBlock>\n    </content>\n  </entry>\n"
    )


def bare_iterparse(path: Path) -> int:
    """Every element's end event, each entry cleared once read: the elements seen."""
    from lxml import etree

    seen = 0
    for _, element in etree.iterparse(str(path), events=("end",), resolve_entities=False):
        seen += 1
        if element.tag == ATOM_ENTRY:
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
    return seen


def run(size: str = "full") -> list[Result]:
    from b8760_assets.config import load_platform
    from bench.common import meter_ids

    points, days = SIZES[size]
    with scratch(NAME) as folder:
        platform_folder = write_platform(
            folder / "platform", 1, points, max_bytes=10**12, formats="espi",
            usage_point=usage_point,
        )  # fmt: skip
        platform = load_platform(platform_folder)
        [connector] = platform.connectors.values()
        meters = {meter.id: meter for meter in platform.meters}
        path = folder / "usage.xml"
        rows = write_feed(path, meter_ids(points), days)
        quarter = folder / "quarter.xml"
        write_feed(quarter, meter_ids(max(1, points // 4)), days)
        size_bytes = path.stat().st_size

        bare_times, platform_times = alternating(
            lambda: bare_iterparse(path), lambda: standardize_file(path, connector, meters), rows
        )
        peaks = {
            name: run_python(PROBE, str(platform_folder), str(file))
            for name, file in (("file", path), ("quarter", quarter))
        }
        quarter_bytes = quarter.stat().st_size
    bare, figure = min(bare_times), min(platform_times)
    big, small = peaks["file"]["peak_rss_mb"], peaks["quarter"]["peak_rss_mb"]
    return [
        Result(
            benchmark="8. Green Button read + check + normalize",
            figure=rows / figure,
            figure_unit="readings/s",
            figure_label=f"{rows:,} readings, {size_bytes / 1e6:,.0f} MB, {figure:.2f} s",
            baseline=rows / bare,
            baseline_unit="readings/s",
            baseline_label=f"bare lxml iterparse, {bare:.2f} s",
            target=TARGET,
            notes={"seconds": platform_times, "bare_seconds": bare_times, "bytes": size_bytes},
        ),
        Result(
            benchmark="8. Green Button peak RSS",
            figure=big,
            figure_unit="MB",
            figure_label=f"{size_bytes / MB:,.0f} MB feed",
            baseline=small,
            baseline_unit="MB",
            baseline_label=f"{quarter_bytes / MB:,.0f} MB feed (a quarter of the UsagePoints)",
            better="lower",
            target=FLAT,
            notes=peaks,
        ),
    ]
