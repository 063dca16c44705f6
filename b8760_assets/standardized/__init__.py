"""Standardized readings, asset 2 of each connector's chain: the hour's accepted files as rows
in their meters' units and time zones (normalize), and the meter-hour objects participants
download, merged so that replaying hours in any order ends in the same objects (meter_hours).

Pure functions: no Dagster, no GCS; the asset wires storage to them. docs/downloading.md is
the download contract.
"""
