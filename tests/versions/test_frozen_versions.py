"""Property: a frozen test set survives new images, new splits and new versions (catalog-level)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keepsight.splits import split_dataset
from keepsight.versions import create_version
from keepsight.versions.api import load_manifest
from tests.splits.build import add_records, dataset_with

# A round of new images: (part serial number, class); serials repeat, so some new images are
# later captures of parts already in the dataset (and maybe in the frozen test set).
rounds = st.lists(st.lists(st.tuples(st.integers(0, 14), st.sampled_from(["dent", "scratch"])), min_size=1,
                           max_size=8), min_size=1, max_size=3)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds, st.integers(0, 1000))
def test_frozen_test_survives_new_versions(batches: list[list[tuple[int, str]]], seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        first = [{"image": f"a{i}.png", "tags": ["dent" if i % 2 else "scratch"], "metadata": {"part_serial": f"S{i}"}}
                 for i in range(10)]
        with dataset_with(tmp_path, None, first) as ds:
            split_dataset(ds, ratios="60/20/20", group=["part_serial"], seed=seed, freeze_test=True)
            m1 = load_manifest(ds, create_version(ds, "frozen"))
            frozen = {e.path for e in m1.entries if e.id in set(m1.frozen_test)}
            assert frozen and frozen == {e.path for e in m1.entries if e.split == "test"}
            previous = frozen
            start = 100
            for n, batch in enumerate(batches):
                records = [{"image": f"r{n}_{k}.png", "tags": [label], "metadata": {"part_serial": f"S{serial}"}}
                           for k, (serial, label) in enumerate(batch)]
                add_records(ds, tmp_path, records, start=start, name=f"round{n}")
                start += len(records)
                split_dataset(ds, ratios="60/20/20", group=["part_serial"], seed=seed + n + 1)
                manifest = load_manifest(ds, create_version(ds, f"round {n}"))
                by_path = {e.path: e for e in manifest.entries}
                frozen_now = {e.path for e in manifest.entries if e.id in set(manifest.frozen_test)}
                assert all(by_path[p].split == "test" for p in frozen)  # never moved
                assert previous <= frozen_now  # the frozen set only grows (nothing was released)
                serial_split: dict[str, set[str]] = {}
                for e in manifest.entries:
                    serial_split.setdefault(e.meta["part_serial"], set()).add(e.split)
                assert all(len(s) == 1 for s in serial_split.values())  # parts whole, new captures follow theirs
                previous = frozen_now
