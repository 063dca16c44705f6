"""Which entry belongs to which: a feed's entries linked by their hrefs.

An entry names its parent's collection (`up`) and itself (`self`); a parent lists its
children's collections or themselves among its `related` links. So an IntervalBlock belongs
to the MeterReading one of whose related hrefs is the block's self or up, that MeterReading
to the UsagePoint that relates it the same way, and the MeterReading's ReadingType is the
entry whose self is among its related hrefs. Entries may come in any order (a ReadingType
after the blocks it describes): a link is looked up once all it needs has been seen.
"""

from collections import defaultdict
from dataclasses import dataclass

from b8760_assets.landing.espi_format.feed import Entry
from b8760_assets.landing.formats import Rejection

USAGE_POINT, METER_READING, READING_TYPE = "UsagePoint", "MeterReading", "ReadingType"
INTERVAL_BLOCK = "IntervalBlock"


@dataclass(frozen=True)
class Channel:
    """A MeterReading: the series of readings of one ReadingType of one UsagePoint."""

    usage_point: Entry
    meter_reading: Entry
    reading_type: Entry


class FeedLinks:
    """The entries seen so far that others may belong to (all but IntervalBlocks, so that
    the index grows with the channels of a feed, not its days), by their self hrefs and by
    the hrefs they relate."""

    def __init__(self) -> None:
        self.by_self: dict[str, Entry] = {}
        self.relating: dict[str, list[Entry]] = defaultdict(list)

    def add(self, entry: Entry) -> None:
        if entry.kind == INTERVAL_BLOCK:
            return
        if entry.self_href is not None:
            self.by_self.setdefault(entry.self_href, entry)
        for href in entry.related:
            self.relating[href].append(entry)

    def channel_of(self, block: Entry) -> Channel | None:
        """The channel an IntervalBlock entry belongs to, once the feed has named it whole."""
        meter_reading = self._parent(block, METER_READING)
        if meter_reading is None:
            return None
        usage_point = self._parent(meter_reading, USAGE_POINT)
        reading_type = self._reading_type(meter_reading)
        if usage_point is None or reading_type is None:
            return None
        return Channel(usage_point, meter_reading, reading_type)

    def unlinked(self, block: Entry) -> Rejection:
        """Why a block's channel is still unknown at the end of the feed."""
        meter_reading = self._parent(block, METER_READING)
        if meter_reading is None:
            missing, entry = f"no MeterReading relates {block.describe()}", block
        elif self._parent(meter_reading, USAGE_POINT) is None:
            missing, entry = f"no UsagePoint relates {meter_reading.describe()}", meter_reading
        else:
            missing, entry = f"{meter_reading.describe()} relates no ReadingType", meter_reading
        return Rejection(
            "espi.unlinked_entry",
            entry.line,
            f"line {entry.line}: {missing}, so its readings belong to no meter and have no "
            "unit; link each entry to its parent with its self or up href among the parent's "
            "related links",
        )

    def _parent(self, child: Entry, kind: str) -> Entry | None:
        for href in (child.self_href, child.up_href):
            if href is None:
                continue
            parent = next((e for e in self.relating.get(href, ()) if e.kind == kind), None)
            if parent is not None:
                return parent
        return None

    def _reading_type(self, meter_reading: Entry) -> Entry | None:
        found = (self.by_self.get(href) for href in meter_reading.related)
        return next((entry for entry in found if entry and entry.kind == READING_TYPE), None)
