#!/usr/bin/env python3
"""Writes the seed corpora of the CSV, NPY and data-spec fuzzers (fuzz/corpus/{csv,npy,data_spec}/):
valid files and specs, and near-valid ones that each break one rule. NPY files are written
byte by byte as numpy's format.py writes them (magic, version, header length, a dict padded
with spaces to a multiple of 64 bytes, then the data), so numpy is not needed.
Usage: python3 fuzz/make_text_corpus.py   (then commit what it wrote)"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(kind, name, data):
    path = os.path.join(HERE, "corpus", kind, name)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


CSV = {
    "header.csv": "x,y\n1,2\n3,4\n5,6\n",
    "no_header.csv": "1,2,3\n4,5,6",
    "spaces_crlf.csv": "a , b ,y\r\n 1 , 2, 3\r\n4,\t5,6\r\n\r\n\n",
    "bom.csv": "\ufeffx,y\n1.5,2e3\n",
    "quoted_header.csv": '"x","y"\n1,2\n',
    "quoted_fields.csv": '"x","y"\n"1","2"\n',
    "exponents.csv": "a,b,y\n1e5,-2.5E-3,+7\n.5,5.,-0\n",
    "many_columns.csv": "a,b,c,d,e,f,g,y\n" + "1,2,3,4,5,6,7,8\n" * 3,
    "trailing_blank.csv": "1,2\n3,4\n\n  \n\t\n",
    "blank_middle.csv": "x,y\n1,2\n\n3,4\n",
    "blank_first.csv": "\n1,2\n",
    "header_only.csv": "x,y\n",
    "empty.csv": "",
    "one_column.csv": "1\n2\n3\n",
    "ragged.csv": "1,2\n3,4,5\n",
    "empty_field.csv": "1,2,3\n4,,6\n",
    "typo_first_line.csv": "1,2a\n3,4\n",
    "nan_inf.csv": "x,y\n1,nan\ninf,2\n",
    "huge.csv": "1e308,1.7976931348623157e308\n1e999,2\n",
    "signs.csv": "+-1,2\n-+1,2\n+,-\n",
}

SPECS = {
    "basic": "synthetic:n=100,d=2",
    "all_keys": "synthetic:n=8,d=3,noise=0.5,seed=7",
    "extremes": "synthetic:n=1,d=1,noise=0,seed=18446744073709551615",
    "reordered": "synthetic:d=2,n=5,seed=1,noise=1e-3",
    "leading_zeros": "synthetic:n=05,d=02,noise=.5",
    "large": "synthetic:n=1000000000000,d=1000",
    "wide": "synthetic:n=10,d=4294967295",
    "bare": "synthetic",
    "no_items": "synthetic:",
    "missing_d": "synthetic:n=10",
    "duplicate": "synthetic:n=10,d=2,n=3",
    "zero_rows": "synthetic:n=0,d=1",
    "stray_comma": "synthetic:n=10,,d=2",
    "nan_noise": "synthetic:n=10,d=2,noise=nan",
    "huge_noise": "synthetic:n=5,d=2,noise=1e999",
    "plus_sign": "synthetic:n=+5,d=2",
    "negative_seed": "synthetic:n=5,d=2,seed=-1",
    "unknown_key": "synthetic:n=5,d=2,rows=3",
    "blog": "blog",
    "csv_file": "points.csv",
    "npy_file": "data.NPY",
    "synthetic_file": "synthetic_data.csv",
    "unknown": "bogus",
}


def npy(descr, shape, data=b"", fortran=False, version=(1, 0), quote="'", raw_header=None):
    q = quote
    shape_text = "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
    header = raw_header if raw_header is not None else (
        "{%sdescr%s: %s%s%s, %sfortran_order%s: %s, %sshape%s: %s, }"
        % (q, q, q, descr, q, q, q, "True" if fortran else "False", q, q, shape_text))
    len_bytes = 2 if version[0] == 1 else 4
    prefix = 6 + 2 + len_bytes
    total = prefix + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    fmt = "<H" if len_bytes == 2 else "<I"
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, len(header)) + header.encode() + data


def f8(*v):
    return struct.pack("<%dd" % len(v), *v)


def f4(*v):
    return struct.pack("<%df" % len(v), *v)


NPY = {
    "f8_v1.npy": npy("<f8", (3, 2), f8(1, 2, 2, 3, 3, 1)),
    "f4_v1.npy": npy("<f4", (2, 3), f4(1, 2, 3, 4, 5, 6)),
    "f8_v2.npy": npy("<f8", (2, 2), f8(0.5, -1, 2, 7), version=(2, 0)),
    "f4_v3.npy": npy("<f4", (1, 2), f4(3, 4), version=(3, 0)),
    "double_quotes.npy": npy("<f8", (1, 2), f8(1, 2), quote='"'),
    "reordered_keys.npy": npy("<f8", (1, 2), f8(1, 2), raw_header=
                              "{'shape': (1, 2), 'fortran_order': False, 'descr': '<f8'}"),
    "native_order.npy": npy("=f8", (1, 2), f8(1, 2)),
    "pipe_order.npy": npy("|f4", (1, 2), f4(1, 2)),
    "fortran.npy": npy("<f8", (2, 2), f8(1, 2, 3, 4), fortran=True),
    "int64.npy": npy("<i8", (2, 2), struct.pack("<4q", 1, 2, 3, 4)),
    "big_endian.npy": npy(">f8", (1, 2), struct.pack(">2d", 1, 2)),
    "float16.npy": npy("<f2", (2, 2), b"\x00\x3c\x00\x40\x00\x42\x00\x3c"),
    "structured.npy": npy("", (1, 2), f8(1, 2), raw_header=
                          "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1, 2), }"),
    "rank3.npy": npy("<f8", (1, 1, 2), f8(1, 2)),
    "rank1.npy": npy("<f8", (4,), f8(1, 2, 3, 4)),
    "one_column.npy": npy("<f8", (3, 1), f8(1, 2, 3)),
    "zero_rows.npy": npy("<f8", (0, 2)),
    "truncated_data.npy": npy("<f8", (3, 2), f8(1, 2, 3)),
    "extra_data.npy": npy("<f8", (1, 2), f8(1, 2, 3)),
    "nan.npy": npy("<f8", (1, 2), f8(float("nan"), 1)),
    "huge_f8.npy": npy("<f8", (1, 2), f8(1e300, -1e300)),
    "missing_key.npy": npy("", (1, 2), f8(1, 2), raw_header="{'descr': '<f8', 'shape': (1, 2)}"),
    "extra_key.npy": npy("", (1, 2), f8(1, 2), raw_header=
                         "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), 'x': 1}"),
    "huge_shape.npy": npy("<f8", (4611686018427387904, 4), f8(1, 2)),
    "bad_version.npy": b"\x93NUMPY\x09\x00\x10\x00",
    "truncated_header.npy": npy("<f8", (3, 2), f8(1, 2, 2, 3, 3, 1))[:40],
    "not_npy.npy": b"hello, world\n",
}


def main():
    for name, text in CSV.items():
        write("csv", name, text)
    for name, spec in SPECS.items():
        write("data_spec", name, spec)
    for name, data in NPY.items():
        write("npy", name, data)


if __name__ == "__main__":
    main()
