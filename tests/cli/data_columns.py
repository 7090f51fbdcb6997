#!/usr/bin/env python3
# Data as people have it (issue 16 item 6), against numpy: --target NAME|INDEX, --features and
# --drop pick the columns (newton's one-step fit equals numpy's lstsq on those columns); header
# names reach --json, the summary and the model file; TSV (.tsv, --delimiter), ';', CSV on
# stdin (--data -), NPY in Fortran order and integer NPY give bitwise the run of the plain
# file; a bad column name lists the columns, a non-numeric field names its column, a constant
# column is named in a warning; misuse exits 2.
#   /usr/bin/python3 tests/cli/data_columns.py /path/to/descent
# Skips (77) without numpy.
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_check import main_of  # noqa: E402

try:
    import numpy as np
    from model_file import read_model  # noqa: E402
except ImportError:
    print("skipped: no numpy")
    sys.exit(77)


def main(checks):
    check, run = checks.check, checks.run

    def fit(*args, stdin=None):
        rc, out, err = run("train", "--quiet", "--json", "--optimizer", "newton", "--lr", "1",
                           "--epochs", "2", *args, stdin=stdin)
        return (json.loads(out) if rc == 0 else {}), rc, err
    rng = np.random.default_rng(6)
    n = 120
    ids = np.arange(n, dtype=float) + 1000
    a, b, c = rng.normal(size=(3, n))
    price = 2 * a - b + 0.5 * c + 3 + 0.1 * rng.normal(size=n)
    table = np.c_[ids, a, price, b, c]  # the target in the middle, an id first
    header = "id,a,price,b,c"
    np.savetxt("t.csv", table, delimiter=",", header=header, comments="", fmt="%.17g")

    def lstsq(*cols):
        A = np.c_[np.column_stack(cols), np.ones(n)]
        return np.linalg.lstsq(A, price, rcond=None)[0]

    doc, rc, err = fit("--data", "t.csv", "--target", "price", "--drop", "id", "--save-model", "m.dsm")
    check("target_by_name_drop_id", rc == 0 and np.allclose(doc["final_weights"], lstsq(a, b, c), rtol=1e-10, atol=1e-12)
          and doc["columns"] == {"features": ["a", "b", "c"], "target": "price"}, (rc, err, doc.get("columns")))
    meta, names, std, params = read_model("m.dsm") if rc == 0 else ({}, [], [], [])
    check("model_keeps_names", names == ["a", "b", "c"] and meta.get("target") == "price", (names, meta))
    rc, out, err = run("train", "--data", "t.csv", "--target", "price", "--drop", "id", "--epochs", "1")
    check("summary_names_columns", rc == 0 and "columns:          target 'price'; features a, b, c" in out, out)
    doc, rc, err = fit("--data", "t.csv", "--target", "2", "--features", "c,a")
    check("features_in_their_order", rc == 0 and np.allclose(doc["final_weights"], lstsq(c, a), rtol=1e-10, atol=1e-12)
          and doc["columns"]["features"] == ["c", "a"], (rc, err))

    base, _, _ = fit("--data", "t.csv", "--target", "price", "--drop", "id")
    # The same table as TSV, with ';', on stdin, and as NPY in Fortran order.
    np.savetxt("t.tsv", table, delimiter="\t", header=header.replace(",", "\t"), comments="", fmt="%.17g")
    np.savetxt("tabs.csv", table, delimiter="\t", header=header.replace(",", "\t"), comments="", fmt="%.17g")
    np.savetxt("semi.csv", table, delimiter=";", header=header.replace(",", ";"), comments="", fmt="%.17g")
    same = {}
    same["tsv"] = fit("--data", "t.tsv", "--target", "price", "--drop", "id")
    same["delimiter_tab"] = fit("--data", "tabs.csv", "--delimiter", "tab", "--target", "price", "--drop", "id")
    same["delimiter_semicolon"] = fit("--data", "semi.csv", "--delimiter", ";", "--target", "price", "--drop", "id")
    same["stdin"] = fit("--data", "-", "--target", "price", "--drop", "id", stdin=open("t.csv").read())
    for name, (doc, rc, err) in same.items():
        check(name + "_bitwise", rc == 0 and doc["final_weights"] == base["final_weights"] and
              doc["losses"] == base["losses"], (rc, err))
    np.save("c.npy", table)
    np.save("f.npy", np.asfortranarray(table))
    c_doc, rc1, err1 = fit("--data", "c.npy", "--target", "2", "--drop", "0")
    f_doc, rc2, err2 = fit("--data", "f.npy", "--target", "2", "--drop", "0")
    check("npy_fortran_order_bitwise", rc1 == rc2 == 0 and c_doc["final_weights"] == f_doc["final_weights"] ==
          base["final_weights"], (err1, err2))
    ints = np.round(table * 100).astype("<i4")
    np.save("i.npy", ints)
    np.save("i_as_float.npy", ints.astype("<f8"))
    i_doc, rc1, err1 = fit("--data", "i.npy", "--target", "2", "--drop", "0")
    g_doc, rc2, err2 = fit("--data", "i_as_float.npy", "--target", "2", "--drop", "0")
    check("npy_int32_converted_exactly", rc1 == rc2 == 0 and i_doc["final_weights"] == g_doc["final_weights"], (err1, err2))

    # A dropped column is never read: text ids, NaN in an NPY column left out.
    with open("ids.csv", "w") as f:
        f.write("id,a,b,c,price\n")
        for i in range(n):
            f.write("u%d,%r,%r,%r,%r\n" % (i, a[i], b[i], c[i], price[i]))
    doc, rc, err = fit("--data", "ids.csv", "--drop", "id")
    check("text_id_column_dropped", rc == 0 and np.allclose(doc["final_weights"], lstsq(a, b, c), rtol=1e-10, atol=1e-12), err)
    nan_ids = table.copy()
    nan_ids[5, 0] = np.nan
    np.save("nan_ids.npy", nan_ids)
    doc, rc, err = fit("--data", "nan_ids.npy", "--target", "2", "--drop", "0")
    check("nan_in_dropped_npy_column_unread", rc == 0 and doc["final_weights"] == base["final_weights"], err)
    rc, out, err = run("train", "--data", "nan_ids.npy", "--target", "2", "--quiet")
    check("nan_in_a_kept_column_refused", rc == 1 and "row 5, column 0 (counting from 0) is NaN" in err, err)
    rc, out, err = run("train", "--data", "t.csv", "--target", "cost", "--quiet")
    check("unknown_target_lists_columns", rc == 1 and "'cost' is not a column (columns: id, a, price, b, c" in err, err)
    with open("bad.csv", "w") as f:
        f.write("a,city,y\n1,2,3\n4,Paris,6\n")
    rc, out, err = run("train", "--data", "bad.csv", "--quiet")
    check("non_numeric_names_its_column", rc == 1 and "line 3, column 2: 'Paris' is not a number (column 'city')" in err, err)
    k = np.c_[a, np.full(n, 7.0), price]
    np.savetxt("k.csv", k, delimiter=",", header="a,k,price", comments="", fmt="%.17g")
    rc, out, err = run("train", "--data", "k.csv", "--quiet", "--epochs", "2")
    check("constant_column_warned", rc == 0 and err.count("warning") == 1 and "constant feature column 'k' (1)" in err, err)
    for args, what in ((["--data", "t.csv", "--features", "a", "--drop", "id"], "give one"),
                       (["--data", "c.npy", "--delimiter", ";"], "applies to CSV"),
                       (["--data", "synthetic:n=10,d=2", "--target", "0"], "applies to a data file"),
                       (["--data", "t.csv", "--delimiter", "ab"], "one character")):
        rc, out, err = run("train", "--quiet", "--epochs", "1", *args)
        check("usage: " + " ".join(args), rc == 2 and what in err, (rc, err))


if __name__ == "__main__":
    main_of(main)
