"""Where a rotation's CPU goes: one process against ``--shard 1/2`` + ``--shard 2/2`` (run by hand).

    python tests/bench/bench_rotation_cpu.py --database-url postgres://…/<bench db> [--rows 200000] [--rounds 2]

For each case (interleaved, the order alternating per round, on a freshly populated table)
prints the wall time and the CPU seconds of the command processes (all threads, from
wait4) and of their PostgreSQL backends (sampled from /proc every 0.1 s, Linux only), as
µs per row and as cores used on average. On a 2-core machine a case that already keeps
~2 cores busy cannot be sped up by a second shard; one that uses fewer can.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.bench import bench_rotation as bench  # noqa: E402
from tests.bench.bench_rotation_ab import proc_cpu  # noqa: E402


def backends(dbname: str) -> dict[int, float]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if f" {dbname} " in Path(f"/proc/{entry}/cmdline").read_text().replace("\0", " "):
                    found[int(entry)] = proc_cpu(int(entry))
            except OSError:
                continue
    return found


def run_case(url: str, shards: int, rows: int) -> tuple[float, float, float]:
    """(wall s, CPU s of the command processes, CPU s of their backends)."""
    dbname = url.rsplit("/", 1)[1]
    env = {**bench.base_env(url), "PLATOS_MESSAGE_ENCRYPTION_KEY_NEXT": bench.K2}
    before = backends(dbname)
    seen: dict[int, float] = {}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            seen.update(backends(dbname))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    extra = [[]] if shards == 1 else [["--shard", f"{k}/{shards}"] for k in range(1, shards + 1)]
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "manage.py", "rotate_message_key", *args], cwd=bench.ROOT,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for args in extra]
    process_cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        process_cpu += usage.ru_utime + usage.ru_stime
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    backend_cpu = sum(cpu - before.get(pid, 0.0) for pid, cpu in seen.items())
    return wall, process_cpu, backend_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    bench.ensure_database(args.database_url)
    os.environ.update(bench.base_env(args.database_url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    print(f"{args.rows} rows, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for r in range(args.rounds):
        for shards in (1, 2) if r % 2 == 0 else (2, 1):
            bench.populate(args.rows)
            wall, proc, backend = run_case(args.database_url, shards, args.rows)
            per_row = 1e6 / args.rows
            print(f"round {r + 1}: {'one process' if shards == 1 else '2 shards':<12} wall {wall:5.2f} s "
                  f"({args.rows / wall:>7,.0f} rows/s); CPU µs/row: processes {proc * per_row:.1f}, "
                  f"backends {backend * per_row:.1f}, total {(proc + backend) * per_row:.1f}; "
                  f"cores used {(proc + backend) / wall:.2f}", flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
