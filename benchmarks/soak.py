"""`make soak`: the simulator at a steady rate for a long time, the four faults injected on a
schedule, one audit at the end, a JSON report. Not part of CI (it runs for minutes to hours).

    python -m benchmarks.soak [--minutes 30] [--rate 8] [--every 120]

Exit status 0 when the audit is clean: every acknowledged id in the read model exactly once,
every request due during the run breached exactly once or answered in time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import time
from collections.abc import Callable

from benchmarks.common import write_result
from harness.faults import FaultStack, ack_gaps


def schedule(stack: FaultStack) -> list[tuple[str, Callable[[], dict[str, object]]]]:
    return [
        ("kill-one-broker", stack.kill_broker),
        ("kill-one-of-two-workers", stack.kill_and_restart_worker),
        ("restart-postgres", stack.restart_postgres),
        ("restart-whole-stack", stack.restart_everything),
    ]


def soak(minutes: float, rate: float, every: float) -> dict[str, object]:
    stack = FaultStack.create("soak")
    faults: list[dict[str, object]] = []
    try:
        print(f"soak: starting a three-broker stack under {stack.root} …", flush=True)
        stack.servers_up()
        stack.start_processes()
        acks = stack.root / "soak.acks"
        acks.touch()
        simulator = stack.simulate(minutes * 60 + 600, rate, acks)
        since = time.time()
        ends = since + minutes * 60
        plan = schedule(stack)
        n = 0
        while time.time() + every < ends:
            time.sleep(every)
            name, fault = plan[n % len(plan)]
            n += 1
            at = time.time()
            print(f"soak: [{at - since:7.0f} s] {name} …", flush=True)
            figures = fault()
            figures |= {"fault": name, "at_s": round(at - since, 1)}
            figures["ingest_stall_s"] = round(ack_gaps(acks, at, time.time()), 2)
            faults.append(figures)
            print(f"soak:            {json.dumps(figures)}", flush=True)
        time.sleep(max(0.0, ends - time.time()))
        simulator.process.send_signal(signal.SIGINT)
        simulator.process.wait(timeout=180)
        until = time.time()
        print("soak: traffic stopped; auditing …", flush=True)
        audit = stack.audit(acks, due_since=since, due_until=until, patience=180)
        return {
            "minutes": minutes,
            "rate_per_s": rate,
            "fault_every_s": every,
            "faults": faults,
            "simulator": simulator.log().strip().splitlines()[-1:],
            "audit": audit.summary(),
            "odd_requests": stack.describe(
                (audit.without_breach + audit.breached_in_time + audit.several_breach_ids)[:20]
            ),
        }
    finally:
        stack.stop_processes()
        stack.servers_down()
        shutil.rmtree(stack.root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run")
    parser.add_argument("--rate", type=float, default=8.0, help="ingest calls per second")
    parser.add_argument("--every", type=float, default=120.0, help="seconds between faults")
    args = parser.parse_args()
    if args.every < 60:
        parser.error("--every below 60 s leaves no time to recover between faults")
    result = soak(args.minutes, args.rate, args.every)
    path = write_result("soak", result)
    audit = result["audit"]
    assert isinstance(audit, dict)
    print(f"soak: audit {'CLEAN' if audit['clean'] else 'NOT CLEAN'}: {json.dumps(audit)}")
    print(f"soak: report in {path}")
    return 0 if audit["clean"] else 1


if __name__ == "__main__":
    sys.exit(main())
