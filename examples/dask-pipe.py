#!/usr/bin/python3
"""Run a shell pipeline on each shard of a stream on the workers of a Dask cluster.

    dask-pipe.py --scheduler-file FILE [--workers N] SHARD... -- COMMAND

Each SHARD file is read here and sent to a worker, which runs COMMAND (with bash -o
pipefail) with the shard on its standard input; the outputs are written to standard output
in the order of the SHARD arguments, so for a pure filter such as `attribute | split-fees`
the result is the same bytes one process would write for the concatenated shards. COMMAND
runs with the worker's environment: the tools must be on the workers' PATH, and any file it
names (an index, a ledger) must be readable at that path on every worker.

Standard error says which worker ran which shard. The exit status is 0 when every shard's
command succeeded; otherwise the failed shard's stderr is printed, its output and the ones
after it are not written, and the status is that command's (1 if it was killed).
"""
import argparse
import subprocess
import sys

from distributed import Client, get_worker


def run_shard(command, data):
    """On a worker: the command's status, output and diagnostics for one shard."""
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    return done.returncode, done.stdout, done.stderr, get_worker().name


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler-file", required=True)
    parser.add_argument("--workers", type=int, default=1,
                        help="wait for this many workers before sending shards (default 1)")
    parser.add_argument("shards", nargs="+", metavar="SHARD")
    argv = sys.argv[1:]
    if "--" not in argv:
        parser.error("no COMMAND: put it after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1:]
    if not command:
        parser.error("no COMMAND after --")
    command = " ".join(command)

    with Client(scheduler_file=args.scheduler_file, timeout=60) as client:
        client.wait_for_workers(args.workers, timeout=60)
        futures = []
        for shard in args.shards:
            with open(shard, "rb") as f:
                futures.append(client.submit(run_shard, command, f.read(), pure=False))
        # In input order: shard k is written once it and every shard before it are done.
        for shard, future in zip(args.shards, futures):
            status, out, err, worker = future.result()
            print(f"dask-pipe: {shard}: worker {worker}: {len(out)} bytes, exit {status}",
                  file=sys.stderr)
            if status != 0:
                sys.stderr.buffer.write(err)
                return status if status > 0 else 1
            sys.stdout.buffer.write(out)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
