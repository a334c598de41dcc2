"""Tables read one region at a time: each table sorted by region and streamed a partition at
a time (`toLocalIterator`), the streams merged by region code, so the driver holds one
region's rows of every table at once, never a whole table."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping, Sequence

import pandas as pd
from pyspark.sql import DataFrame

from catalogbridge.names import INSURED

Layout = Mapping[str, tuple[Sequence[str], Sequence[str]]]  # name -> (columns, order in a region)


def _stream(table: DataFrame, name: str, columns: Sequence[str], order: Sequence[str],
            key: str) -> Iterator[tuple[str, str, pd.DataFrame]]:
    rows = table.select(key, *columns).orderBy(key, *order).toLocalIterator()
    for region, group in itertools.groupby(rows, key=lambda r: r[0]):
        yield str(region), name, pd.DataFrame.from_records(
            [tuple(r)[1:] for r in group], columns=list(columns))


def region_frames(tables: Mapping[str, DataFrame], layout: Layout,
                  key: str = INSURED) -> Iterator[tuple[str, dict[str, pd.DataFrame]]]:
    """(region, {table name: its rows of the region}) for every region with rows in any
    table, in code order; a table without rows for the region gives an empty frame with its
    columns. Rows whose region is null belong to no region and are left out."""
    streams = [_stream(table.where(table[key].isNotNull()), name, *layout[name], key)
               for name, table in tables.items()]
    merged = heapq.merge(*streams, key=lambda part: part[0])
    for region, parts in itertools.groupby(merged, key=lambda part: part[0]):
        found = {name: frame for _, name, frame in parts}
        yield region, {name: found.get(name, pd.DataFrame(columns=list(layout[name][0])))
                       for name in tables}
