"""Partitions: one per input file, one per customer segment (both come from the data)."""

from dagster import DynamicPartitionsDefinition

raw_files = DynamicPartitionsDefinition(name="raw_files")
segments = DynamicPartitionsDefinition(name="segments")
