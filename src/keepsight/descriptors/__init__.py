"""Describe once: every image decoded a single time, everything later stages need stored by blob digest."""

from keepsight.descriptors.compute import Description, describe_bytes, hamming64
from keepsight.descriptors.describe import DescribeReport, describe_dataset, describe_digests
from keepsight.descriptors.store import DescriptorStore, load_stats

__all__ = [
    "DescribeReport",
    "Description",
    "DescriptorStore",
    "describe_bytes",
    "describe_dataset",
    "describe_digests",
    "hamming64",
    "load_stats",
]
