"""Validation rules (the V of VEE) over an arrival hour's standardized rows: plain polars
functions, no Dagster, no network. `validate` runs every rule; docs/validation.md describes
them, their thresholds and the quality vocabulary the rows carry.
"""

from b8760_assets.validation.rules import RULES, Rule
from b8760_assets.validation.thresholds import MeterLimits, Thresholds
from b8760_assets.validation.validate import Validation, validate

__all__ = ["RULES", "MeterLimits", "Rule", "Thresholds", "Validation", "validate"]
