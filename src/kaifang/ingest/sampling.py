"""A uniform random sample of up to ``size`` rows over a stream, for detection.

Bottom-k sampling: every row gets a random key and the ``size`` smallest keys are kept, which is
a uniform sample however long the stream is, computed with Arrow kernels per batch (sorted
files — all of one district first — do not bias it the way "the first 10 000 rows" would).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc


class ColumnSampler:
    """Keeps the rows with the ``size`` smallest random keys (one key per row, so one selection
    per batch whatever the number of columns); ``sample(column)`` gives that column's non-empty
    values among them."""

    def __init__(self, columns: Sequence[str], size: int = 10_000, seed: int = 20240601) -> None:
        self.columns = list(columns)
        self.size = size
        self._seed = seed
        self._batches = 0
        self._rows: pa.Table | None = None
        self._keys = pa.array([], pa.float64())
        self._threshold: float | None = None

    def add(self, batch: pa.RecordBatch) -> None:
        self._batches += 1
        keys = pc.random(batch.num_rows, initializer=self._seed + self._batches)
        rows = pa.Table.from_batches([batch])
        if self._threshold is not None:
            # Only keys below the current k-th smallest can enter the sample.
            entering = pc.less(keys, self._threshold)
            rows, keys = rows.filter(entering), keys.filter(entering)
            if not rows.num_rows:
                return
        if self._rows is not None:
            rows = pa.concat_tables([self._rows, rows])
            keys = pa.concat_arrays([self._keys, keys])
        if rows.num_rows > self.size:
            keep = pc.select_k_unstable(keys, self.size, [("key", "ascending")])
            rows, keys = rows.take(keep), keys.take(keep)
        if rows.num_rows >= self.size:
            self._threshold = pc.max(keys).as_py()
        self._rows, self._keys = rows.combine_chunks(), keys

    def table(self, schema: pa.Schema) -> pa.Table:
        """The sampled rows (all columns)."""
        return self._rows if self._rows is not None else schema.empty_table()

    def sample(self, column: str) -> pa.Array:
        if self._rows is None:
            return pa.array([], type=pa.string())
        values = self._rows.column(column).combine_chunks()
        values = values.filter(pc.is_valid(values))
        return values if values.type == pa.string() else values.cast(pa.string())

    def samples(self) -> dict[str, pa.Array]:
        return {column: self.sample(column) for column in self.columns}
