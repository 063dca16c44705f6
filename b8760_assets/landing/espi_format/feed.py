"""The Atom feed a Green Button file is, streamed entry by entry, safely.

Uploads are untrusted XML. Before libxml2 sees the file, expat scans it up to its root
element and refuses a DOCTYPE that declares an entity (XXE, billion laughs), as the
configuration's files are refused (config/xml_parsing.py); libxml2 then parses with entity
resolution, DTD loading and network access off and its size and depth limits on
(huge_tree off): a document nested deeper than 256 elements stops with espi.too_deep.

The tree never holds more than one entry, and of an IntervalBlock about CHUNK_READINGS
readings: each entry is handed over as an Entry (its links, its kind, a ReadingType's
fields, an IntervalBlock's readings as text) and cleared, so that memory stays flat
whatever the file's size.
"""

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from b8760_assets.config.xml_parsing import SAFE_PARSING, declared_entity, entity_refused
from b8760_assets.landing.espi_format.interval_readings import ESPI, RawReadings, take_readings
from b8760_assets.landing.espi_format.reading_types import Fields
from b8760_assets.landing.formats import FormatRejected, Rejection, quoted

ATOM = "http://www.w3.org/2005/Atom"
FEED, ENTRY, LINK, CONTENT = (f"{{{ATOM}}}{name}" for name in ("feed", "entry", "link", "content"))
BLOCK, READING = f"{{{ESPI}}}IntervalBlock", f"{{{ESPI}}}IntervalReading"
# Readings of one IntervalBlock held as XML at a time: a block of a day holds 24 to 288.
CHUNK_READINGS = 20_000
# Bytes fed to the parser at a time, and read at a time by the scan before the root element.
READ_BYTES = 1024 * 1024
SCAN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Entry:
    """One Atom entry: its links, the ESPI resource it holds, and a ReadingType's fields."""

    kind: str | None  # UsagePoint, MeterReading, ReadingType, IntervalBlock, ...
    self_href: str | None
    up_href: str | None
    related: tuple[str, ...]
    line: int
    fields: Fields = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.kind or 'entry'} {quoted(self.self_href)} (line {self.line})"


def entries(source: bytes | Path) -> Iterator[tuple[Entry, list[RawReadings]]]:
    """The feed's entries in file order, each with the readings of its IntervalBlocks (a
    list, a chunk at a time for a long block); FormatRejected for XML the platform will not
    parse or a root that is not an Atom feed."""
    _refuse_entities(source)
    parser = etree.XMLPullParser(
        events=("start", "end"),
        tag=(ENTRY, BLOCK),
        **SAFE_PARSING,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        yield from _entries(parser, _chunks(source, READ_BYTES))
        root = parser.close()
    except etree.XMLSyntaxError as error:
        raise FormatRejected(_not_parsed(error)) from None
    _refuse_stray_readings(root)
    if root.tag != FEED:
        raise FormatRejected(
            Rejection(
                "espi.not_a_feed",
                1,
                f"line 1: the root element is {quoted(root.tag)}, not an Atom feed; a Green "
                f'Button file is a <feed xmlns="{ATOM}"> of entries',
            )
        )


def _entries(
    parser: etree.XMLPullParser, chunks: Iterator[bytes]
) -> Iterator[tuple[Entry, list[RawReadings]]]:
    """Entries as the parser completes them, fed a chunk at a time. Only entries and blocks
    raise events (one per element would cost more than the parse): a block still open after
    a chunk gives up its complete readings once it holds CHUNK_READINGS."""
    taken: list[RawReadings] = []
    open_block = None
    for chunk in chunks:
        parser.feed(chunk)
        for event, element in parser.read_events():
            if event == "start":
                if element.tag == BLOCK:
                    _check_in_entry(element)
                    open_block = element
            elif element.tag == BLOCK:
                taken.append(take_readings(element, keep_last=False))
                element.clear()
                open_block = None
            else:
                _refuse_stray_readings(element)  # its blocks are cleared by now
                yield _entry(element), taken
                taken = []
                _clear(element)
        if open_block is not None and len(open_block) > CHUNK_READINGS:
            taken.append(take_readings(open_block, keep_last=True))


def _entry(element: etree._Element) -> Entry:
    links: dict[str, list[str]] = {}
    for link in element.iterchildren(LINK):
        links.setdefault(link.get("rel", "alternate"), []).append(link.get("href", ""))
    content = element.find(CONTENT)
    resource = next(content.iterchildren(f"{{{ESPI}}}*"), None) if content is not None else None
    kind = None if resource is None else etree.QName(resource).localname
    fields: dict[str, tuple[str | None, int]] = {}
    if resource is not None and kind == "ReadingType":
        for child in resource.iterchildren(f"{{{ESPI}}}*"):
            text = (child.text or "").strip() or None
            fields[etree.QName(child).localname] = (text, child.sourceline)
    return Entry(
        kind=kind,
        self_href=links.get("self", [None])[0],
        up_href=links.get("up", [None])[0],
        related=tuple(links.get("related", ())),
        line=element.sourceline,
        fields=fields,
    )


def _clear(entry: etree._Element) -> None:
    """The entry and whatever came before it in the feed, out of the tree."""
    entry.clear()
    parent = entry.getparent()
    while (before := entry.getprevious()) is not None:
        _refuse_stray_readings(before)
        parent.remove(before)


def _refuse_stray_readings(element: etree._Element) -> None:
    """espi.misplaced_element for an IntervalReading left in a part of the tree whose blocks
    are taken and cleared: one outside any block, which no channel would hold."""
    stray = next(element.iter(READING), None)
    if stray is not None:
        raise FormatRejected(_misplaced(stray, "IntervalReading", "an IntervalBlock"))


def _check_in_entry(block: etree._Element) -> None:
    content = block.getparent()
    entry = None if content is None else content.getparent()
    if content is None or content.tag != CONTENT or entry is None or entry.tag != ENTRY:
        raise FormatRejected(_misplaced(block, "IntervalBlock", "an Atom entry's content"))


def _misplaced(element: etree._Element, what: str, where: str) -> Rejection:
    line = element.sourceline
    return Rejection(
        "espi.misplaced_element",
        line,
        f"line {line}: an {what} outside {where}; its readings would belong to no channel: "
        "put each in its place in the feed",
    )


def _not_parsed(error: etree.XMLSyntaxError) -> Rejection:
    line = error.lineno
    message = (error.msg or "").splitlines()[0] if error.msg else "not well-formed"
    if "Excessive depth" in message or "depth" in message.lower():
        return Rejection(
            "espi.too_deep",
            line,
            f"line {line}: the elements nest deeper than the parser allows ({message}); a "
            "Green Button feed nests about 8 deep",
        )
    return Rejection(
        "espi.not_xml",
        line,
        f"line {line}: the file is not well-formed XML ({message}); save it as XML (UTF-8)",
    )


def _refuse_entities(source: bytes | Path) -> None:
    found = declared_entity(_chunks(source, SCAN_BYTES))
    if found is not None:
        name, line = found
        raise FormatRejected(Rejection("espi.entity", line, f"line {line}: {entity_refused(name)}"))


def _chunks(source: bytes | Path, size: int) -> Iterator[bytes]:
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as file:
        while chunk := file.read(size):
            yield chunk
