"""b8760: Benchmark 8760's data platform as Dagster assets."""
