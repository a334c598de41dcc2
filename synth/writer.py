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
from synth.flows import FILING_DICT, LEVEL_CODES, PSN_TYPES, FlowAttrs
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
        # Cross-region care analytics (synth.flows).
        ("filing_type", pa.string()),
        ("psn_type", pa.string()),
        ("hosp_lv", pa.string()),
        ("fund_pay_sumamt", pa.float64()),
        ("begntime", pa.timestamp("us")),
        ("endtime", pa.timestamp("us")),
    ]
)
TIME_COLUMNS = ("fee_ocur_time", "begntime", "endtime")


# Low-cardinality columns worth dictionary encoding; ids are unique and would only pay for it.
DICTIONARY_COLUMNS = ["insuplc_admdvs", "mdtrtarea_admvs", "med_type", "medins_list_codg",
                      "medins_list_name", "fixmedins_code", "gend", "med_list_codg",
                      "filing_type", "psn_type", "hosp_lv"]


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
        self.filing = pa.array(list(FILING_DICT), type=pa.string())
        self.psn_types = pa.array(list(PSN_TYPES), type=pa.string())
        self.levels = pa.array(list(LEVEL_CODES), type=pa.string())


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


def fixmedins_codes(ad: ArrowDicts, city: np.ndarray, hosp: np.ndarray) -> pa.Array:
    """'H' + 6-digit treatment city code + 5-digit hospital index within the city."""
    return _fixed(_const("H", len(city)), ad.city_bytes[city], _digits(hosp, 5))


def mdtrt_ids(ad: ArrowDicts, tc: np.ndarray, visit_no: np.ndarray) -> pa.Array:
    return _fixed(ad.city_bytes[tc], _digits(visit_no, 12))


def psn_nos(ad: ArrowDicts, ic: np.ndarray, psn: np.ndarray) -> pa.Array:
    return _fixed(ad.city_bytes[ic], _digits(psn, 10))


def _timestamps(seconds: np.ndarray) -> pa.Array:
    return pa.array(seconds * 1_000_000, type=pa.int64()).cast(pa.timestamp("us"))


def build_table(ch: Chunk, rows: Rows, ad: ArrowDicts, fa: FlowAttrs) -> pa.Table:
    t = rows.take
    lv = ch.l_visit[t]
    n = len(t)
    tc = ad.city_bytes[ch.v_tc[lv]]
    visit = _digits(ch.visit_offset + lv, 12)
    cols = {
        "feedetl_sn": _fixed(tc, _digits(ch.line_offset + t, 12)),
        "setl_id": _fixed(tc, visit, _const("S01", n)),
        "mdtrt_id": _fixed(tc, visit),
        "psn_no": psn_nos(ad, ch.v_ic[lv], ch.v_psn[lv]),
        "insuplc_admdvs": _take(ad.regions, rows.ins_region[t]),
        "mdtrtarea_admvs": _take(ad.regions, rows.trt_region[t]),
        "med_type": pc.take(ad.med_types, pa.array(ch.v_mt[lv])),
        "medins_list_codg": _take(ad.codes, rows.code[t]),
        "medins_list_name": _take(ad.names, rows.name[t]),
        "det_item_fee_sumamt": pa.array(rows.fee[t], type=pa.float64()),
        "fee_ocur_time": _timestamps(rows.ts[t]),
        "cnt": pa.array(rows.cnt[t], type=pa.float64()),
        "pric": pa.array(ch.l_pric[t], type=pa.float64()),
        "fixmedins_code": fixmedins_codes(ad, ch.v_tc[lv], ch.v_hosp[lv]),
        "gend": pc.take(ad.sexes, pa.array(ch.v_sex[lv].astype(np.int64) - 1)),
        "age": pa.array(ch.v_age[lv], type=pa.int32()),
        "med_list_codg": _take(ad.reported, rows.reported[t]),
        "filing_type": _take(ad.filing, fa.v_filing[lv].astype(np.int64)),
        "psn_type": pc.take(ad.psn_types, pa.array(fa.v_psn_type[lv].astype(np.int64))),
        "hosp_lv": pc.take(ad.levels, pa.array(fa.v_level[lv].astype(np.int64))),
        "fund_pay_sumamt": pa.array(fa.l_fund[t], type=pa.float64()),
        "begntime": _timestamps(fa.v_begin[lv]),
        "endtime": _timestamps(fa.v_end[lv]),
    }
    return pa.Table.from_arrays([cols[f.name] for f in SCHEMA], schema=SCHEMA)


def write_part(table: pa.Table, path: Path, fmt: str, encoding: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path, compression="snappy", row_group_size=256 * 1024,
                       use_dictionary=DICTIONARY_COLUMNS)
        return
    for col in TIME_COLUMNS:
        ts = pc.strftime(table[col].cast(pa.timestamp("s")), format="%Y-%m-%d %H:%M:%S")
        table = table.set_column(table.schema.get_field_index(col), col, ts)
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
