#!/usr/bin/env python3
"""The baseline sluice is measured against: the partner pipeline written the way the seed's
notebooks do it, with the Python standard library only (tarfile/zipfile + csv + sqlite3 upsert).

For every partner of a sluice pipeline folder it opens that day's archive from the landing area,
decodes each table's CSV with the partner's encoding, maps headers through the schema's aliases,
converts and checks every value against the schema's types (bad rows are counted and skipped),
and upserts the rows into warehouse/<partner>.db in one transaction per table. One process,
one partner after the other, like a notebook.

Usage: baseline_python.py PIPELINE_DIR --date YYYY-MM-DD --out DIR
Prints one line per table and a final "csv_bytes=N rows=N rejected=N seconds=S" line.
"""
import argparse
import csv
import datetime
import decimal
import fnmatch
import io
import json
import os
import re
import sqlite3
import sys
import tarfile
import time
import zipfile

csv.field_size_limit(1 << 30)


def parse_partner_yaml(path):
    """Reads the few partner.yaml keys the notebook needs (stdlib has no YAML parser)."""
    text = open(path, encoding="utf-8").read()

    def scalar(key):
        m = re.search(r'^%s:\s*"?([^"\n#]*)"?' % key, text, re.M)
        return m.group(1).strip() if m else None

    def flow(key):
        m = re.search(r"^%s:\s*\{(.*)\}" % key, text, re.M)
        out = {}
        if not m:
            return out
        for k, v in re.findall(r'(\w+):\s*("(?:[^"\\]|\\.)*"|\[[^\]]*\]|[^,}]+)', m.group(1)):
            v = v.strip()
            if v.startswith('"'):
                v = json.loads(v)
            out[k] = v
        return out

    tables = {}
    in_tables = False
    for line in text.splitlines():
        if line.startswith("tables:"):
            in_tables = True
            continue
        if in_tables:
            m = re.match(r'^\s+(\w+):\s*\{\s*file:\s*"([^"]+)"', line)
            if m:
                tables[m.group(1)] = m.group(2)
            elif line and not line.startswith(" ") and not line.startswith("#"):
                in_tables = False
    csv_opts = flow("csv")
    nulls = csv_opts.get("null_values", '[""]')
    null_values = set(json.loads(nulls)) if isinstance(nulls, str) else {""}
    return {
        "id": scalar("id"),
        "archive": scalar("archive"),
        "encoding": csv_opts.get("encoding", "utf-8"),
        "delimiter": csv_opts.get("delimiter", ","),
        "null_values": null_values,
        "tables": tables,
    }


def archive_name(pattern, partner, date):
    def repl(m):
        field = m.group(1)
        if field == "partner":
            return partner
        if field == "date":
            return date.isoformat()
        return date.strftime(field[len("date:"):])
    return re.sub(r"\{([^}]+)\}", repl, pattern)


def fold(name):
    return "".join(name.lower().split())


def make_converter(col):
    t = col["type"]
    fmt = col.get("format")
    if t == "int64":
        return int
    if t == "float64":
        return float
    if t.startswith("decimal"):
        p, s = [int(x) for x in t[8:-1].split(",")]
        q = decimal.Decimal(1).scaleb(-s)

        def conv(v):
            d = decimal.Decimal(v)
            if not d.is_finite() or len(d.quantize(q).as_tuple().digits) > p:
                raise ValueError("out of range")
            return str(d.quantize(q))
        return conv
    if t == "bool":
        trues = {"true", "1", "yes", "y", "t"} | {x.lower() for x in col.get("true_values", [])}
        falses = {"false", "0", "no", "n", "f"} | {x.lower() for x in col.get("false_values", [])}

        def conv(v):
            lv = v.lower()
            if lv in trues:
                return 1
            if lv in falses:
                return 0
            raise ValueError("not a bool")
        return conv
    if t == "date":
        f = fmt or "%Y-%m-%d"
        return lambda v: datetime.datetime.strptime(v, f).date().isoformat()
    if t == "timestamp":
        f = fmt or "%Y-%m-%d %H:%M:%S"
        return lambda v: datetime.datetime.strptime(v, f).isoformat(sep=" ")
    max_len = col.get("max_length")
    if max_len:
        def conv(v):
            if len(v.encode("utf-8")) > max_len:
                raise ValueError("too long")
            return v
        return conv
    return lambda v: v


def load_table(db, partner, table, schema, reader, source, date):
    columns = schema["columns"]
    names = [c["name"] for c in columns]
    spellings = {}
    for c in columns:
        for s in [c["name"]] + c.get("aliases", []):
            spellings[fold(s)] = c["name"]
    header = next(reader)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    positions = {}
    for i, h in enumerate(header):
        n = spellings.get(fold(h))
        if n is not None:
            positions[n] = i
    plan = [(positions.get(c["name"]), make_converter(c), c.get("nullable", True)
             and c["name"] not in schema.get("primary_key", [])) for c in columns]
    nulls = partner["null_values"]
    width = len(header)
    pk = schema.get("primary_key", [])
    cols_sql = ", ".join(names + ["_ingest_date", "_source_file"])
    db.execute("CREATE TABLE IF NOT EXISTS %s (%s%s)" % (
        table, ", ".join(names + ["_ingest_date", "_source_file"]),
        (", PRIMARY KEY (%s)" % ", ".join(pk)) if pk else ""))
    update = ", ".join("%s=excluded.%s" % (n, n) for n in names + ["_ingest_date", "_source_file"]
                       if n not in pk)
    sql = "INSERT INTO %s (%s) VALUES (%s)" % (table, cols_sql, ", ".join("?" * (len(names) + 2)))
    if pk:
        sql += " ON CONFLICT (%s) DO UPDATE SET %s" % (", ".join(pk), update)
    loaded = rejected = 0
    batch = []
    day = date.isoformat()
    for row in reader:
        if len(row) != width:
            rejected += 1
            continue
        out = []
        try:
            for pos, conv, nullable in plan:
                v = row[pos] if pos is not None else None
                if v is None or v in nulls:
                    if not nullable:
                        raise ValueError("null")
                    out.append(None)
                else:
                    out.append(conv(v))
        except (ValueError, decimal.InvalidOperation, ArithmeticError):
            rejected += 1
            continue
        out.append(day)
        out.append(source)
        batch.append(out)
        if len(batch) >= 10000:
            db.executemany(sql, batch)
            loaded += len(batch)
            batch.clear()
    db.executemany(sql, batch)
    loaded += len(batch)
    return loaded, rejected


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pipeline")
    ap.add_argument("--date", required=True)
    ap.add_argument("--out", required=True, help="folder for the partner databases")
    args = ap.parse_args()
    date = datetime.date.fromisoformat(args.date)
    os.makedirs(args.out, exist_ok=True)
    start = time.monotonic()
    total_bytes = total_rows = total_rejected = 0
    partners_dir = os.path.join(args.pipeline, "partners")
    for pid in sorted(os.listdir(partners_dir)):
        partner = parse_partner_yaml(os.path.join(partners_dir, pid, "partner.yaml"))
        path = os.path.join(args.pipeline, "data", "landing", pid, date.isoformat(),
                            archive_name(partner["archive"], pid, date))
        schemas = {t: json.load(open(os.path.join(partners_dir, pid, "schemas", t + ".json")))
                   for t in partner["tables"]}
        db = sqlite3.connect(os.path.join(args.out, pid + ".db"))
        if path.endswith(".zip"):
            zf = zipfile.ZipFile(path)
            members = [(m.filename, m.file_size, lambda m=m: zf.open(m)) for m in zf.infolist()]
        else:
            tf = tarfile.open(path, "r:*")
            members = [(m.name, m.size, lambda m=m: tf.extractfile(m)) for m in tf
                       if m.isfile()]
        for name, size, opener in members:
            for table, glob in partner["tables"].items():
                if not fnmatch.fnmatch(name, glob):
                    continue
                text = io.TextIOWrapper(opener(), encoding=partner["encoding"].replace(
                    "utf-8", "utf-8-sig"), newline="")
                reader = csv.reader(text, delimiter=partner["delimiter"])
                with db:
                    loaded, rejected = load_table(db, partner, table, schemas[table], reader,
                                                  name, date)
                total_bytes += size
                total_rows += loaded
                total_rejected += rejected
                print("%s.%s: %d loaded, %d rejected" % (pid, table, loaded, rejected))
        db.close()
    seconds = time.monotonic() - start
    print("csv_bytes=%d rows=%d rejected=%d seconds=%.2f" % (total_bytes, total_rows,
                                                             total_rejected, seconds))


if __name__ == "__main__":
    sys.exit(main())
