"""Turn a chunk's index arrays into an Arrow table with the NHSA settlement schema and write it.

All strings are built by Arrow compute kernels (take from small dictionaries, integer to
zero-padded text), which release the GIL, so writing overlaps generation of the next chunk.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from synth.dirty import Dictionaries, Rows
from synth.model import MED_TYPES
from synth.settlements import Chunk

SCHEMA = pa.schema(
    [
        ("feedetl_sn", pa.string()),
        ("setl_id", pa.string()),
        ("mdtrt_id", pa.string()),
        ("psn_no", pa.string()),
        ("insuplc_admdvs", pa.string()),
        ("mdtrtarea_admvs", pa.string()),
        ("med_type", pa.string()),
        ("medins_list_codg", pa.string()),
        ("medins_list_name", pa.string()),
        ("det_item_fee_sumamt", pa.float64()),
        ("fee_ocur_time", pa.timestamp("us")),
        ("cnt", pa.float64()),
        ("pric", pa.float64()),
        ("fixmedins_code", pa.string()),
        ("gend", pa.string()),
        ("age", pa.int32()),
        ("med_list_codg", pa.string()),
    ]
)


# Low-cardinality columns worth dictionary encoding; ids are unique and would only pay for it.
DICTIONARY_COLUMNS = ["insuplc_admdvs", "mdtrtarea_admvs", "med_type", "medins_list_codg",
                      "medins_list_name", "fixmedins_code", "gend", "med_list_codg"]


class ArrowDicts:
    """Arrow versions of the string dictionaries, built once."""

    def __init__(self, d: Dictionaries, city_codes: tuple[str, ...]) -> None:
        self.codes = pa.array(d.codes.tolist(), type=pa.string())
        self.names = pa.array(d.names.tolist(), type=pa.string())
        self.reported = pa.array(d.reported.tolist(), type=pa.string())
        self.regions = pa.array(d.regions.tolist(), type=pa.string())
        self.city_bytes = np.frombuffer("".join(city_codes).encode("ascii"), np.uint8).reshape(
            len(city_codes), 6
        )
        self.med_types = pa.array(list(MED_TYPES), type=pa.string())
        self.sexes = pa.array(["1", "2"], type=pa.string())


def _take(dictionary: pa.Array, idx: np.ndarray) -> pa.Array:
    mask = idx < 0
    arr = pa.array(np.where(mask, 0, idx), mask=mask if mask.any() else None, type=pa.int64())
    return pc.take(dictionary, arr)


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) ASCII byte matrix.

    Arrow's int-to-text cast is the fastest formatter at hand; every result has the same
    width, so its data buffer reshapes straight into the matrix.
    """
    a = pc.utf8_lpad(pc.cast(pa.array(values, type=pa.int64()), pa.string()), width, "0")
    off = np.frombuffer(a.buffers()[1], dtype=np.int32)[a.offset : a.offset + len(a) + 1]
    data = np.frombuffer(a.buffers()[2], dtype=np.uint8)[off[0] : off[-1]]
    out: np.ndarray = data.reshape(len(values), width)
    return out


def _const(text: str, n: int) -> np.ndarray:
    out: np.ndarray = np.broadcast_to(np.frombuffer(text.encode("ascii"), np.uint8),
                                      (n, len(text)))
    return out


def _fixed(*parts: np.ndarray) -> pa.Array:
    """Arrow strings from fixed-width ASCII byte blocks: offsets are arithmetic, no parsing."""
    data = np.ascontiguousarray(np.hstack(parts))
    n, width = data.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.ravel()))


def build_table(ch: Chunk, rows: Rows, ad: ArrowDicts) -> pa.Table:
    t = rows.take
    lv = ch.l_visit[t]
    n = len(t)
    tc = ad.city_bytes[ch.v_tc[lv]]
    visit = _digits(ch.visit_offset + lv, 12)
    cols = {
        "feedetl_sn": _fixed(tc, _digits(ch.line_offset + t, 12)),
        "setl_id": _fixed(tc, visit, _const("S01", n)),
        "mdtrt_id": _fixed(tc, visit),
        "psn_no": _fixed(ad.city_bytes[ch.v_ic[lv]], _digits(ch.v_psn[lv], 10)),
        "insuplc_admdvs": _take(ad.regions, rows.ins_region[t]),
        "mdtrtarea_admvs": _take(ad.regions, rows.trt_region[t]),
        "med_type": pc.take(ad.med_types, pa.array(ch.v_mt[lv])),
        "medins_list_codg": _take(ad.codes, rows.code[t]),
        "medins_list_name": _take(ad.names, rows.name[t]),
        "det_item_fee_sumamt": pa.array(rows.fee[t], type=pa.float64()),
        "fee_ocur_time": pa.array(rows.ts[t] * 1_000_000, type=pa.int64()).cast(
            pa.timestamp("us")
        ),
        "cnt": pa.array(rows.cnt[t], type=pa.float64()),
        "pric": pa.array(ch.l_pric[t], type=pa.float64()),
        "fixmedins_code": _fixed(_const("H", n), tc, _digits(ch.v_hosp[lv], 5)),
        "gend": pc.take(ad.sexes, pa.array(ch.v_sex[lv].astype(np.int64) - 1)),
        "age": pa.array(ch.v_age[lv], type=pa.int32()),
        "med_list_codg": _take(ad.reported, rows.reported[t]),
    }
    return pa.Table.from_arrays([cols[f.name] for f in SCHEMA], schema=SCHEMA)


def write_part(table: pa.Table, path: Path, fmt: str, encoding: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="snappy", row_group_size=256 * 1024,
                       use_dictionary=DICTIONARY_COLUMNS)
        return
    ts = pc.strftime(table["fee_ocur_time"].cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
    table = table.set_column(table.schema.get_field_index("fee_ocur_time"), "fee_ocur_time", ts)
    buf = io.BytesIO()
    buf.write((",".join(table.column_names) + "\n").encode("utf-8"))
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    data = buf.getvalue()
    if encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)
    path.write_bytes(data)


def write_frame_csv(df: pd.DataFrame, path: Path, encoding: str = "utf-8") -> None:
    """Small CSVs (library, catalogs, truth): strings as is, LF line ends, no index."""
    df.to_csv(path, index=False, encoding=encoding, lineterminator="\n")
