"""Which meter reads a channel: the meter XML's <usage_point>, and the channels no meter reads.

A meter claims a UsagePoint by its self href, and optionally one flow of it (a ReadingType's
flowDirection: forward, reverse, net, total); config check keeps two meters off one flow.
The readings of a channel no meter claims are not taken in, and not dropped silently either:
each such channel is a Notice in the hour's manifest, with its reading count and what to add
to the meter XML.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from b8760_assets.config import ConnectorProperties, Meter
from b8760_assets.config.meters import FLOW_DIRECTIONS
from b8760_assets.landing.espi_format.links import Channel
from b8760_assets.landing.espi_format.reading_types import FLOW_NAMES
from b8760_assets.landing.formats import Notice, quoted


class MeterClaims:
    """The connector's meters by the UsagePoint they read."""

    def __init__(self, meters: Mapping[str, Meter]) -> None:
        self.by_usage_point: dict[str, list[Meter]] = defaultdict(list)
        for meter in meters.values():
            if meter.usage_point is not None:
                self.by_usage_point[meter.usage_point].append(meter)

    def meter_of(self, channel: Channel) -> Meter | None:
        flow = _flow(channel)
        for meter in self.by_usage_point.get(channel.usage_point.self_href or "", ()):
            if meter.flow_direction is None or FLOW_DIRECTIONS[meter.flow_direction] == flow:
                return meter
        return None


@dataclass
class _Tally:
    channel: Channel
    readings: int = 0


class Unclaimed:
    """The readings of each channel no meter claims, counted as the feed goes."""

    def __init__(self) -> None:
        self.tallies: dict[int, _Tally] = {}

    def add(self, channel: Channel, readings: int) -> None:
        tally = self.tallies.setdefault(id(channel.meter_reading), _Tally(channel))
        tally.readings += readings

    def notices(self, connector: ConnectorProperties) -> list[Notice]:
        return [_notice(tally, connector) for tally in self.tallies.values()]


def _notice(tally: _Tally, connector: ConnectorProperties) -> Notice:
    channel = tally.channel
    line = channel.meter_reading.line
    flow = _flow(channel)
    named = FLOW_NAMES.get(flow) if flow is not None else None
    of_flow = f"{named} flow of " if named else ""
    attribute = f' flow_direction="{named}"' if named else ""
    uom = channel.reading_type.fields.get("uom", (None, 0))[0]
    return Notice(
        "espi.unclaimed_readings",
        line,
        f"line {line}: {tally.readings:,} readings of MeterReading "
        f"{quoted(channel.meter_reading.self_href)} (uom {uom}, flowDirection {flow}) were not "
        f"taken in: no meter of connector {connector.name} reads the {of_flow}UsagePoint "
        f"{quoted(channel.usage_point.self_href)}; if one should, give it "
        f"<usage_point{attribute}>{channel.usage_point.self_href}</usage_point> in the meter "
        "XML and upload the file again",
    )


def _flow(channel: Channel) -> int | None:
    text = channel.reading_type.fields.get("flowDirection", (None, 0))[0]
    return int(text) if text is not None and text.lstrip("-").isdigit() else None
