"""Feed files: every bad row refused with its row number and reason, every good row kept."""

import io
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from certification.citizen_id import make_citizen_id
from certification.comparison import DepartmentEvent, EventKind
from certification.feeds import RowProblem, header_problems, parse_row
from storage.feed_files import CsvFeed, FeedFileError, detect_encoding, open_feed

TODAY = date(2026, 11, 27)
CID = str(make_citizen_id("500103", date(1950, 3, 1), 111))
CID2 = str(make_citizen_id("500104", date(1948, 7, 9), 222))
HEADER = "citizen_id,event_kind,event_date,source_department,source_record_id,detail"


def read(data: bytes, name: str = "feed.csv"):
    fh = io.BytesIO(data)
    feed = open_feed(__import__("pathlib").Path(name), fh, name)
    out = []
    for number, values, raw in feed.rows():
        parsed = values if isinstance(values, RowProblem) else parse_row(values, TODAY)
        out.append((number, parsed, raw))
    return feed, out


def codes(rows):
    return [(n, r.code) for n, r, _ in rows if isinstance(r, RowProblem)]


def test_good_rows_are_events():
    data = f"{HEADER}\n{CID},rail_travel,2026-05-01,transport,T-1,重庆北-北京西\n".encode()
    feed, rows = read(data)
    assert feed.encoding == "utf-8"
    (n, event, _raw) = rows[0]
    assert n == 2
    assert event == DepartmentEvent(
        CID, EventKind.RAIL_TRAVEL, date(2026, 5, 1), "transport", "T-1", "重庆北-北京西"
    )


def test_every_bad_row_has_its_line_number_and_reason():
    bad_check = CID[:-1] + ("0" if CID[-1] != "0" else "1")
    lines = [
        HEADER,
        f"{CID},cremation,2026-03-01,civil_affairs,C-1,",  # 2 ok
        f"{bad_check},cremation,2026-03-01,civil_affairs,C-2,",  # 3 check digit
        f"{CID},teleported,2026-03-01,civil_affairs,C-3,",  # 4 unknown kind
        f"{CID},cremation,2027-01-01,civil_affairs,C-4,",  # 5 future
        f"{CID},cremation,01/03/2026,civil_affairs,C-5,",  # 6 not a date
        f"{CID},cremation,2026-03-01,aliens,C-6,",  # 7 unknown department
        f"{CID},cremation,2026-03-01,civil_affairs",  # 8 missing a field
        f"{CID},cremation,2026-03-01,civil_affairs,C-8,x,y",  # 9 one too many
        f"{CID},cremation,2026-03-01,civil_affairs,,",  # 10 empty record id
        "",  # 11 blank: no row
        f"{CID2},air_travel,20260415,transport,A-1,",  # 12 ok, compact date
    ]
    _feed, rows = read("\n".join(lines).encode())
    assert codes(rows) == [
        (3, "bad_citizen_id"),
        (4, "unknown_event_kind"),
        (5, "future_date"),
        (6, "bad_date"),
        (7, "unknown_source"),
        (8, "wrong_field_count"),
        (9, "wrong_field_count"),
        (10, "missing_value"),
    ]
    good = [r for _, r, _ in rows if isinstance(r, DepartmentEvent)]
    assert [e.source_record_id for e in good] == ["C-1", "A-1"]
    assert good[1].event_date == date(2026, 4, 15)


def test_gbk_and_bom_are_read():
    text = f"{HEADER}\n{CID},death_family_report,2026-02-01,civil_affairs,D-1,家属申报死亡\n"
    for encoding, data in (
        ("gb18030", text.encode("gbk")),
        ("utf-8-sig", b"\xef\xbb\xbf" + text.encode()),
    ):
        feed, rows = read(data)
        assert feed.encoding == encoding
        assert feed.columns[0] == "citizen_id"
        assert rows[0][1].detail == "家属申报死亡"


def test_a_row_in_another_encoding_is_refused_alone():
    def row(n, enc):
        return f"{CID},rail_travel,2026-05-0{n},transport,T-{n},重庆北站".encode(enc)

    mostly_utf8 = [row(1, "utf-8"), row(2, "gbk"), row(3, "utf-8")]
    feed, rows = read(b"\n".join([HEADER.encode(), *mostly_utf8]) + b"\n")
    assert feed.encoding == "utf-8"
    assert codes(rows) == [(3, "bad_encoding")]
    mostly_gbk = [row(1, "gbk"), row(2, "utf-8"), row(3, "gbk")]
    feed, rows = read(b"\n".join([HEADER.encode(), *mostly_gbk]) + b"\n")
    assert feed.encoding == "gb18030"
    assert codes(rows) == [(3, "bad_encoding")]
    assert [r.detail for _, r, _ in rows if not isinstance(r, RowProblem)] == ["重庆北站"] * 2


def test_extra_columns_are_ignored_and_missing_ones_named():
    missing, extra = header_problems(["citizen_id", "event_kind", "event_date", "remark"])
    assert missing == ["source_department", "source_record_id"]
    assert extra == ["remark"]
    data = f"Citizen_ID,EVENT_KIND,event_date,source_department,source_record_id,remark\n{CID},rail_travel,2026-05-01,transport,T-1,x\n"
    _feed, rows = read(data.encode())
    assert isinstance(rows[0][1], DepartmentEvent)


def test_quoted_fields_may_hold_commas_and_line_breaks():
    data = f'{HEADER}\n{CID},hospital_stay,2026-05-01,health,H-1,"第一行,\n第二行"\n{CID2},rail_travel,2026-05-02,transport,T-9,\n'
    _feed, rows = read(data.encode())
    assert rows[0][1].detail == "第一行,\n第二行"
    assert rows[1][0] == 4  # the next row starts on line 4


def test_an_overlong_line_is_refused_without_reading_it_whole():
    data = f"{HEADER}\n{CID},rail_travel,2026-05-01,transport,T-1,{'x' * 200_000}\n{CID2},rail_travel,2026-05-01,transport,T-2,\n"
    _feed, rows = read(data.encode())
    assert codes(rows) == [(2, "too_long")]
    assert rows[1][1].source_record_id == "T-2"


def test_files_that_are_not_feeds():
    with pytest.raises(FeedFileError, match="empty"):
        read(b"")
    with pytest.raises(FeedFileError, match="UTF-16"):
        read("\ufeffcitizen_id".encode("utf-16"))
    with pytest.raises(FeedFileError, match="neither"):
        read(b"\x89PNG\r\n\x1a\n\x00\x00\x00")


def test_detect_encoding_on_a_cut_sample():
    text = ("张" * 100_000).encode("utf-8")
    assert detect_encoding(text[: 256 * 1024 - 1]) == "utf-8"


def test_parquet_feed(tmp_path):
    table = pa.table(
        {
            "citizen_id": [CID, "123"],
            "event_kind": ["bank_in_person", "bank_in_person"],
            "event_date": pa.array([date(2026, 6, 1), date(2026, 6, 2)], pa.date32()),
            "source_department": ["bank", "bank"],
            "source_record_id": ["B-1", "B-2"],
            "branch": ["解放碑支行", "x"],
        }
    )
    path = tmp_path / "bank.parquet"
    pq.write_table(table, path)
    with path.open("rb") as fh:
        feed = open_feed(path, fh)
        assert feed.file_format == "parquet"
        assert header_problems(feed.columns) == ([], ["branch"])
        rows = [
            (n, v if isinstance(v, RowProblem) else parse_row(v, TODAY)) for n, v, _ in feed.rows()
        ]
    assert rows[0][1].event_date == date(2026, 6, 1)
    assert rows[1] == (2, rows[1][1]) and rows[1][1].code == "bad_citizen_id"
    assert feed.sha256 and len(feed.sha256) == 64


def test_csv_sha256_covers_the_whole_file():
    data = f"{HEADER}\n{CID},rail_travel,2026-05-01,transport,T-1,\n".encode()
    feed = CsvFeed(io.BytesIO(data), "x.csv")
    list(feed.rows())
    import hashlib

    assert feed.sha256 == hashlib.sha256(data).hexdigest()


class _WatchedStream(io.RawIOBase):
    """A feed of any length made up on the fly; records the largest single read."""

    def __init__(self, header: bytes, row: bytes, rows: int) -> None:
        self.header, self.row, self.rows = header, row, rows
        self.sent_rows = -1
        self.largest = 0
        self.buffer = b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos, whence=0):  # only rewinds to the start (after sniffing)
        assert pos == 0 and whence == 0
        self.sent_rows, self.buffer = -1, b""
        return 0

    def readinto(self, b) -> int:
        self.largest = max(self.largest, len(b))
        while len(self.buffer) < len(b) and self.sent_rows < self.rows:
            self.buffer += self.header if self.sent_rows < 0 else self.row
            self.sent_rows += 1
        n = min(len(b), len(self.buffer))
        b[:n], self.buffer = self.buffer[:n], self.buffer[n:]
        return n


def test_a_feed_is_read_in_bounded_pieces_whatever_its_size():
    row = f"{CID},rail_travel,2026-05-01,transport,T,\n".encode()
    raw = _WatchedStream(HEADER.encode() + b"\n", row, 200_000)  # ~9 MB, never held whole
    feed = CsvFeed(io.BufferedReader(raw, buffer_size=64 * 1024), "big.csv")
    count = sum(1 for _ in feed.rows())
    assert count == 200_000
    assert raw.largest <= 256 * 1024  # the sniff sample; rows come line by line after it
