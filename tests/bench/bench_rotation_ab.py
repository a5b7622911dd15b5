"""A/B of the rotation's write-path choices, interleaved in one process (not a test: run it by hand).

    python tests/bench/bench_rotation_ab.py --database-url postgres://…/<bench db>
        [--rows 200000] [--rounds 3] [--variants new,text-copy,sync-commit,text-copy+sync-commit]

Each round measures the SQL floor once, then runs every variant (the order rotates per
round) on a freshly populated table through ``key_rotation_plan`` + ``key_rotation_run``
(the command's own timer), and prints for each: rows/s, ratio to the floor, ratio to the
first variant of the same round, and CPU µs per row of this process (both threads), of
the writer's backend and of the reader's backend (from /proc, Linux only). CPU per row is
less sensitive to a shared machine than rows/s: read both, with their spread.

Variants (``+`` combines): ``new`` (as shipped), ``text-copy`` (the previous write path:
text COPY of (pk, head, old, new)), ``sync-commit`` (batches wait for the WAL flush),
``bN`` (batch size N), ``siN`` (the writer's GIL switch interval, N × 0.1 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench import bench_rotation as bench  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def text_copy_cas(column, cursor, changes) -> int:
    """The write path before binary COPY (commit 4aba7c8 and later): text COPY of 4 columns."""
    from platos.rotation.columns import WRITE_ID_LEN, write_id

    table, pk, col = column.q()
    connection = column.connection
    pk_type = column.model._meta.pk.db_type(connection)
    scratch = connection.ops.quote_name("platos_rotation_cas_" + re.sub(r"[^a-z0-9]+", "_", pk_type.lower()))
    cursor.execute(
        f"CREATE TEMP TABLE IF NOT EXISTS {scratch} (pk {pk_type}, head text, old text, new text) "
        "ON COMMIT DELETE ROWS"
    )
    with cursor.cursor.copy(f"COPY {scratch} (pk, head, old, new) FROM STDIN") as copy:
        for pk_value, old, new in changes:
            head = write_id(old)
            copy.write_row((pk_value, head, None if head else old, new))
    pks = [change[0] for change in changes]
    cursor.execute(
        f"UPDATE {table} AS t SET {col} = v.new FROM {scratch} AS v "  # noqa: S608
        f"WHERE t.{pk} = v.pk AND t.{pk} BETWEEN %s AND %s AND CASE WHEN v.head IS NULL "
        f"THEN t.{col} = v.old ELSE substr(t.{col}, 1, {WRITE_ID_LEN}) = v.head END",
        [min(pks), max(pks)],
    )
    return cursor.rowcount


@contextlib.contextmanager
def patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def variant(name: str):
    from platos.rotation import engine, pg_write

    stack = contextlib.ExitStack()
    batch = engine.DEFAULT_BATCH_SIZE
    for part in name.split("+"):
        if part == "new":
            continue
        if part == "text-copy":
            stack.enter_context(patched(pg_write, "compare_and_swap_postgresql", text_copy_cas))
        elif part == "sync-commit":
            stack.enter_context(patched(engine._Writer, "async_commit", False))
        elif re.fullmatch(r"si\d+", part):  # the writer's GIL switch interval, in units of 0.1 ms
            stack.enter_context(patched(engine, "_SWITCH_INTERVAL", int(part[2:]) / 10_000))
        elif re.fullmatch(r"b\d+", part):
            batch = int(part[1:])
        else:
            raise SystemExit(f"unknown variant {part!r}")
    return stack, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="new,text-copy,sync-commit,text-copy+sync-commit")
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    bench.ensure_database(args.database_url)
    os.environ.update(bench.base_env(args.database_url))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections

    from platos.core.keys import load_keyrings
    from platos.rotation import engine
    from platos.rotation.service import key_rotation_plan, key_rotation_run

    call_command("migrate", run_syncdb=True, verbosity=0)
    writer_cpu = [0.0]
    real_run = engine._Writer._run

    def counted_run(self):  # the writer thread: CPU of its backend, read before it closes
        conn = connections[self.column.using]
        conn.ensure_connection()
        pid = conn.connection.info.backend_pid
        start = proc_cpu(pid)
        real_close, closed = conn.close, []

        def close():
            if not closed:
                closed.append(1)
                writer_cpu[0] += proc_cpu(pid) - start
            real_close()

        conn.close = close
        try:
            real_run(self)
        finally:
            del conn.close

    engine._Writer._run = counted_run
    rings = load_keyrings({"PLATOS_MESSAGE_ENCRYPTION_KEY": bench.K1, "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": bench.K2,
                           "ENCRYPTION_KEY": bench.ENC})
    names = args.variants.split(",")
    floor_ratio: dict[str, list[float]] = {n: [] for n in names}
    vs_first: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[tuple[float, float, float]]] = {n: [] for n in names}
    print(f"PostgreSQL, {args.rows} rows, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for r in range(args.rounds):
        bench.populate(args.rows)
        connection.ensure_connection()
        f0 = proc_cpu(connection.connection.info.backend_pid)
        floor = bench.sql_floor(args.rows)  # (its VACUUM ANALYZE is in the backend's CPU too)
        floor_cpu = 1e6 * (proc_cpu(connection.connection.info.backend_pid) - f0) / args.rows
        print(f"round {r + 1}: floor {floor:>9,.0f} rows/s = {1e6 / floor:.1f} µs/row; its backend's CPU "
              f"(UPDATE + VACUUM ANALYZE) {floor_cpu:.1f} µs/row")
        rates = {}
        for name in names[r % len(names):] + names[: r % len(names)]:
            bench.populate(args.rows)
            bench.set_keyrings(rings)
            stack, batch = variant(name)
            with stack:
                plan = key_rotation_plan(keyring="messages", batch_size=batch)
                connection.ensure_connection()
                reader = connection.connection.info.backend_pid
                writer_cpu[0], r0, p0 = 0.0, proc_cpu(reader), time.process_time()
                result = key_rotation_run(plan=plan)
                used = (time.process_time() - p0, writer_cpu[0], proc_cpu(reader) - r0)
            assert result.total("remaining") == 0 and result.total("rotated") > args.rows, result
            rates[name] = rate = result.total("rotated") / result.seconds
            floor_ratio[name].append(rate / floor)
            us = tuple(1e6 * t / args.rows for t in used)
            cpu[name].append(us)
            print(f"round {r + 1}: floor {floor:>9,.0f}  {name:<28} {rate:>9,.0f} rows/s = {rate / floor:.2f} "
                  f"of the floor; CPU µs/row process {us[0]:.1f}, writer backend {us[1]:.1f}, "
                  f"reader backend {us[2]:.1f}", flush=True)
        for name in names:
            vs_first[name].append(rates[name] / rates[names[0]])
    print(f"load average at the end {os.getloadavg()[0]:.1f}")

    def spread(values):
        return f"median {statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"

    for name in names:
        total = [sum(u) for u in cpu[name]]
        print(f"{name:<28} / floor {spread(floor_ratio[name])}; / {names[0]} {spread(vs_first[name])}; "
              f"CPU µs/row total {spread(total)}")
    with connection.cursor() as cur:
        cur.execute("TRUNCATE testapp_note")


if __name__ == "__main__":
    main()
