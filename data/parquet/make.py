"""Writes the Parquet files of this directory with pyarrow (another Parquet writer than
Firesteel's), for connectors/tests/parquet.rs. Run from the repository root:

    pip install pyarrow
    python3 data/parquet/make.py
"""

import pyarrow as pa
import pyarrow.parquet as pq

# Labeled points: 5 rows in row groups of 2 (3 row groups), zstd-compressed, with a
# string column that has a null and a boolean column (neither is a feature).
points = pa.table(
    {
        "id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "label": pa.array([0.0, 1.0, 1.0, 0.0, 1.0], pa.float64()),
        "x": pa.array([0.5, -1.25, 3.0, 0.1, 1e-3], pa.float64()),
        "name": pa.array(["a", "b", None, "d", "e"], pa.string()),
        "y": pa.array([10, 20, 30, -40, 50], pa.int32()),
        "flag": pa.array([True, False, True, False, True], pa.bool_()),
    }
)
pq.write_table(points, "data/parquet/points.parquet", row_group_size=2, compression="zstd")

# Graph edges: src and dst, one row group, snappy (pyarrow's default).
edges = pa.table(
    {
        "src": pa.array([1, 1, 2, 3, 4], pa.int64()),
        "dst": pa.array([2, 3, 3, 1, 1], pa.int64()),
    }
)
pq.write_table(edges, "data/parquet/edges.parquet")
