"""The Green Button format: NAESB ESPI XML, an Atom feed of linked entries.

    feed ─ entry UsagePoint ──related──► MeterReading ──related──► ReadingType (uom, ...)
                                              └──related──► IntervalBlock ─ IntervalReading
                                                            (timePeriod start/duration, value,
                                                             ReadingQuality)

Each MeterReading of a UsagePoint is a channel: one ReadingType's series of readings. The
meter XML says which meter reads which UsagePoint (and flow), so the readings come out as
every format's do (READINGS_SCHEMA): meter, UTC interval, value in the platform's unit
(value x 10^powerOfTenMultiplier in the uom: 72 Wh, 169 therm, 42 m3, ...), quality flag,
line. The feed is streamed (lxml iterparse, entities, DTDs and the network off), so a 1 GB
file takes the memory of a few batches. A module per concern:

    format.py             EspiFormat: the feed read once, batches checked in threads
    feed.py               the feed streamed safely, entry by entry (links, kind, fields)
    links.py              which entry is whose: block -> MeterReading -> UsagePoint, ReadingType
    claims.py             which meter reads a channel; the channels no meter reads (Notices)
    reading_types.py      uom, powerOfTenMultiplier, accumulation, commodity: the unit and scale
    interval_readings.py  a block's readings as columns, then as the platform's readings
    quality.py            ReadingQuality codes as the platform's quality flags
"""

from b8760_assets.landing.espi_format.format import EspiFormat

__all__ = ["EspiFormat"]
