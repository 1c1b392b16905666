#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/seed-*.

Seeds are small and deterministic (fixed mtimes, gzip without timestamps), so running this again
gives the same bytes. Hostile archives are built here, not committed as opaque blobs: the
script says what each one is. Each seed starts with the choice bytes its target reads first
(see the header comment of fuzz/<target>.cpp).

Usage: fuzz/make_seeds.py   (from anywhere; needs python3 and the zstd command)
"""
import bz2
import gzip
import io
import lzma
import os
import pathlib
import shutil
import subprocess
import tarfile
import zipfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parent
EXAMPLE = ROOT.parent / "examples" / "partner_ingestion"


def write(target, name, data):
    d = ROOT / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / ("seed-" + name)).write_bytes(data)


CSV = {
    "plain": b"order_id,amount,status\n1,12.50,paid\n2,-3.00,refunded\n",
    "quoted": b'id,name\n1,"Kim, Ji-ho"\n2,"say ""hi"""\n3,"two\nlines"\n',
    "crlf_bom": b"\xef\xbb\xbfid;name\r\n1;a\r\n2;b\r\n",
    "sep_line": b"sep=;\nid;name\n1;x\n",
    "blank_and_trailing": b"a,b,\n\n1,2,\n3,4",
    "text_after_quote": b'a,b\n"x"y,2\n',
    "unterminated": b'a,b\n"never closed,2\n',
    "nul": b"a,b\n1,\x002\n",
    "lone_cr": b"a,b\r1,2\r3,4\r",
    "tsv": b"id\tname\n1\tx\"y\n",
    "long_field": b"a\n" + b"x" * 300 + b"\n",
}


def tokenizer_seeds():
    # [dialect][delimiter][quote][chunk][limit]: dialect 0 picks from the lists by index.
    for name, csv in CSV.items():
        write("csv_tokenizer", name, bytes([0, 0, 0, 3, 0x7F]) + csv)
    write("csv_tokenizer", "semicolon", bytes([0, 1, 0, 1, 0x40]) + CSV["crlf_bom"])
    write("csv_tokenizer", "no_quoting", bytes([4, 2, 0, 2, 0x7F]) + CSV["tsv"])
    write("csv_tokenizer", "any_ascii", bytes([3, ord("#"), ord("!"), 5, 0x10]) +
          b'#!a!!b!#c\n1#2#3\n')


def encoding_seeds():
    text = "id,name,city\n1,김지호,서울\n2,Zoë,Zürich\n3,山田,東京\n"
    # [label index][chunk][read]; the index is into config::EncodingLabels(), so the choice of
    # encoding is whatever label sits there: several seeds cover several labels.
    for i, (enc, data) in enumerate([
        ("utf-8", text.encode("utf-8")),
        ("utf-16le", b"\xff\xfe" + text.encode("utf-16-le")),
        ("utf-16be", b"\xfe\xff" + text.encode("utf-16-be")),
        ("cp949", text.encode("cp949", "replace")),
        ("shift_jis", text.encode("shift_jis", "replace")),
        ("latin1", text.encode("latin-1", "replace")),
        ("invalid", b"a,\x80\xff\xfe,\xa2\xe8\n\xd8\x00"),
    ]):
        for label in range(0, 40, 7):
            write("csv_encoding", f"{enc}_{label}", bytes([label + i, 3, 5]) + data)


def conform_seeds():
    # Schema choice bytes are hard to write by hand: a few byte patterns, then CSV text whose
    # header names the example's columns.
    bodies = [
        b"id,amount,name,ordered_at,day,ok\n1,12.50,Kim,2026-02-28 10:00:00,2026-02-28,yes\n",
        b"ID;Amount (KRW);Name\n1;1.234,56;x\n2;;y\n",
        b"id,amount,extra,\n1,2,3,4\n1,2\n",
        b'"id","name"\n"1","\xed\x95\x9c"\n',
    ]
    for i, body in enumerate(bodies):
        for j, prefix in enumerate([bytes([5, 1, 0, 2, 3, 0, 7, 0, 5, 6, 0, 1, 0, 0, 0, 0]),
                                    bytes([2, 3, 9, 2, 0, 7, 2, 1, 40, 0]),
                                    bytes([0] * 12)]):
            write("csv_conform", f"{i}_{j}", prefix + body)


def values_seeds():
    # [function][settings][format length][format] then the value.
    def seed(name, fn, settings, fmt, value):
        write("csv_values", name, bytes([fn, settings, len(fmt)]) + fmt + value)
    seed("int", 0, 0, b"", b" -9223372036854775808 ")
    seed("float", 1, 0, b"", b"1.5e300")
    seed("decimal", 2, 11, b"\x02", b"-0012.3400")
    seed("plain_number", 3, 0x12, b"", b"1.234.567,89")
    seed("bool", 4, 1, b"oui", b"OUI")
    seed("date_fmt", 5, 0, b"%d/%m/%Y", b"29/02/2024")
    seed("date_iso", 5, 1, b"", b"2026-02-28")
    seed("ts_fmt", 6, 0, b"%d.%m.%Y %I:%M %p", b"01.03.2026 12:05 AM")
    seed("ts_iso", 6, 1, b"", b"2026-02-28T23:59:59.123456789+09:30")
    seed("ts_epoch", 6, 0, b"%s", b"-62135596800")
    seed("fold", 7, 0, b"", "Ｏｒｄｅｒ\u00a0ID Σς".encode())
    seed("loose", 8, 0, b"", "Quantite\u0301 / Pre\u0301x_".encode())


def config_seeds():
    files = ["sluice.yaml", "workflow.yaml", "partners/acme/partner.yaml",
             "partners/acme/schemas/orders.json"]
    for i, f in enumerate(files):
        write("config_files", f.replace("/", "_"), bytes([i]) + (EXAMPLE / f).read_bytes())
    write("config_files", "yaml_anchors", bytes([1]) + b"a: &x [*x]\nb: !!binary AAAA\n")
    write("config_files", "json_deep", bytes([3]) + b'{"table":"orders","columns":[[[[[]]]]]}')
    write("config_files", "dup_key", bytes([2]) + b"id: acme\nid: acme\n")


def tar(members, fmt=tarfile.GNU_FORMAT):
    """members: (name, data or None, type, linkname)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, data, typ, link in members:
            info = tarfile.TarInfo(name)
            info.mtime = 1767225600
            info.type = typ
            info.linkname = link
            if typ in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = 1, 3
            data = data or b""
            info.size = len(data) if typ == tarfile.REGTYPE else 0
            t.addfile(info, io.BytesIO(data) if typ == tarfile.REGTYPE else None)
    return buf.getvalue()


def gz(data):
    return gzip.compress(data, mtime=0)


def zstd(data):
    if shutil.which("zstd") is None:
        return None
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def zipped(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members:
            zi = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            zi.compress_type = method
            z.writestr(zi, data)
    return buf.getvalue()


def archive_seeds():
    R = tarfile.REGTYPE
    csv = CSV["plain"]
    good = [("export/", None, tarfile.DIRTYPE, ""), ("export/orders.csv", csv, R, ""),
            ("./customers.csv", b"id\n1\n", R, "")]
    cases = {
        "tar": tar(good),
        "tar_pax": tar(good, tarfile.PAX_FORMAT),
        "tar_gz": gz(tar(good)),
        "tar_gz_two_members": gz(tar(good)[:512]) + gz(tar(good)[512:]),
        "tar_bz2": bz2.compress(tar(good)),
        "tar_xz": lzma.compress(tar(good)),
        "zip": zipped([("orders.csv", csv), ("dir/customers.csv", b"id\n1\n")]),
        "zip_stored": zipped([("orders.csv", csv)], zipfile.ZIP_STORED),
        # Hostile ones: each breaks one rule of archive/safe_reader.h.
        "dotdot": tar([("../../etc/passwd.csv", csv, R, "")]),
        "absolute": tar([("/etc/orders.csv", csv, R, "")]),
        "backslash": tar([("..\\orders.csv", csv, R, "")]),
        "control_char": tar([("ord\x1bers.csv", csv, R, "")]),
        "symlink": tar([("orders.csv", None, tarfile.SYMTYPE, "/etc/passwd")]),
        "hardlink": tar([("a.csv", csv, R, ""), ("b.csv", None, tarfile.LNKTYPE, "a.csv")]),
        "device": tar([("dev.csv", None, tarfile.CHRTYPE, "")]),
        "fifo": tar([("fifo.csv", None, tarfile.FIFOTYPE, "")]),
        "duplicate": tar([("a.csv", csv, R, ""), ("./a.csv", csv, R, "")]),
        "fullwidth_dotdot": tar([("\uff0e\uff0e/orders.csv", csv, R, "")]),
        "many_entries": tar([(f"f{i}.csv", b"x\n", R, "") for i in range(8)]),
        "bomb": gz(tar([("zeros.csv", b"0" * 20000, R, "")])),
        "nested": tar([("inner.tar.gz", gz(tar(good)), R, "")]),
        "zip_dotdot": zipped([("../orders.csv", csv)]),
        "zip_bad_name": zipped([("\udcc8\udcad.csv".encode("utf-8", "surrogateescape")
                                 .decode("latin-1"), csv)]),
        "truncated_gz": gz(tar(good))[:200],
        "empty": b"",
    }
    z = zstd(tar(good))
    if z is not None:
        cases["tar_zst"] = z
    # A zip whose stored CRC-32 is wrong: flip the first CRC byte of the local header (offset
    # 14) and of the central directory entry.
    bad = bytearray(zipped([("orders.csv", csv)], zipfile.ZIP_STORED))
    bad[14] ^= 0xFF
    cd = bad.rfind(b"PK\x01\x02")
    bad[cd + 16] ^= 0xFF
    cases["zip_crc_mismatch"] = bytes(bad)
    for name, data in cases.items():
        # [options][chunk]: options 0 (default limits, want every entry), and small limits.
        write("archive_reader", name, bytes([0, 255]) + data)
        write("archive_reader", name + "_small_limits", bytes([0x04 | 0x03, 0]) + data)


NDJSON = {
    "plain": b'{"order_id": 1, "amount": 12.50, "status": "paid"}\n'
             b'{"order_id": 2, "amount": -3, "status": null}\n',
    "keys_vary": b'{"a": 1}\n{"b": "x", "a": 2}\n{"c": true, "d": false}\n',
    "nested": b'{"id": 1, "tags": ["x", {"y": [1, 2.5e3]}], "meta": {"k": "v"}}\n',
    "escapes": b'{"s": "line\\nbreak \\"quoted\\" tab\\t slash\\/ \\u00e9 \\ud83d\\ude00"}\n',
    "crlf_bom_blank": b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"a": 2}\r\n',
    "bad_lines": b'{"a": 1}\n[1, 2]\n{"a": 1, "a": 2}\n{"a": 1} trailing\n{"a": \n"str"\n',
    "utf8": '{"name": "김지호", "city": "Zürich"}\n'.encode(),
    "big_numbers": b'{"i": 18446744073709551616, "f": 1e308, "n": -0.0, "e": 1E-7}\n',
    "long_line": b'{"k": "' + b"x" * 3000 + b'"}\n',
    "no_final_newline": b'{"a": 1}\n{"a": 2}',
}


def ndjson_seeds():
    # [chunk][limit]: limit 0xFF is the largest line and key bounds the target uses.
    for name, data in NDJSON.items():
        write("ndjson_reader", name, bytes([3, 0xFF]) + data)
    write("ndjson_reader", "few_keys", bytes([1, 0x00]) + NDJSON["keys_vary"])


XLSX_NS = ('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
XLSX_PARTS = [
    # xl/workbook.xml: two sheets, the 1904 date system.
    '<workbook ' + XLSX_NS + '><workbookPr date1904="1"/><sheets>'
    '<sheet name="Sheet1" sheetId="1" r:id="rId1"/><sheet name="Sheet2" sheetId="2" r:id="rId2"/>'
    '</sheets></workbook>',
    # xl/_rels/workbook.xml.rels
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="' + XLSX_REL + 'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="' + XLSX_REL + 'worksheet" Target="/xl/worksheets/sheet2.xml"/>'
    '<Relationship Id="rId3" Type="' + XLSX_REL + 'sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>',
    # xl/sharedStrings.xml: plain, rich text with a phonetic run, preserved spaces.
    '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" '
    'uniqueCount="4"><si><t>id</t></si><si><t>name</t></si><si><r><t>Seoul, </t></r><r><t>Gangnam'
    '</t></r><rPh sb="0" eb="1"><t>ソウル</t></rPh></si><si><t xml:space="preserve"> x </t></si></sst>',
    # sheet1: shared and inline strings, numbers, a boolean, a formula, an error, a gap.
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    '<c r="C1" t="inlineStr"><is><t>opened</t></is></c></row>'
    '<row r="2"><c r="A2"><v>1</v></c><c r="B2" t="s"><v>2</v></c><c r="C2"><v>45658.5</v></c></row>'
    '<row r="4"><c r="A4"><v>2</v></c><c r="B4" t="str"><f>A4&amp;"x"</f><v>2x</v></c>'
    '<c r="C4" t="b"><v>1</v></c><c r="E4" t="e"><v>#N/A</v></c></row>'
    '</sheetData></worksheet>',
    # sheet2
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    '<row><c t="s"><v>3</v></c><c><v>1e3</v></c></row><row><c t="s"><v>9</v></c></row>'
    '</sheetData></worksheet>',
]


def xlsx_seeds():
    # [mode][chunk][limit]: mode 0 zips the parts as listed, 2 reversed, 4 picks Sheet2, 1 is a
    # whole file.
    parts = "\n--\n".join(XLSX_PARTS).encode()
    write("xlsx_reader", "parts", bytes([0, 7, 0xFF]) + parts)
    write("xlsx_reader", "parts_reversed_sheet2", bytes([2 | 4, 3, 0xFF]) + parts)
    write("xlsx_reader", "parts_small_limits", bytes([0, 1, 0x00]) + parts)
    write("xlsx_reader", "no_shared_strings", bytes([0, 5, 0xFF]) +
          "\n--\n".join(XLSX_PARTS[:2] + [""] + XLSX_PARTS[3:]).encode())
    names = ["xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
             "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml"]
    write("xlsx_reader", "deflated_file", bytes([1, 9, 0xFF]) +
          zipped([(n, p.encode()) for n, p in zip(names, XLSX_PARTS)]))


if __name__ == "__main__":
    tokenizer_seeds()
    encoding_seeds()
    conform_seeds()
    values_seeds()
    config_seeds()
    archive_seeds()
    ndjson_seeds()
    xlsx_seeds()
    for d in sorted((ROOT / "corpus").iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} inputs")
