"""Messages per second from SmtpEmailSender to a local SMTP server (aiosmtpd in its own process), and what limits it.

    python benchmarks/bench_send.py [--sizes 10000 100000] [--connections 1 4] [--write]

Each message is a packaged email (emails.render.to_eml, about the 20 KB of an amazon.csv email) to its own address.
One connection is one session in one thread; N connections are N threads, each with its own session, sharing the
messages. Reported: wall time, messages per second, the CPU seconds of the client (this process) and of the server
process, and the round trip of a NOOP on one connection (each message costs four: MAIL, RCPT, DATA and the body).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import smtplib
import threading
import time
from datetime import datetime, timezone

from results import write_section

from recsys_assets.emails.frame import DEFAULT_BRAND
from recsys_assets.emails.render import RenderedEmail, to_eml
from recsys_assets.resources.email_sender import SmtpEmailSender

FROM = "news@shop.example"
DATE = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)


class CountingHandler:
    """Accepts every message and keeps only counts."""

    def __init__(self):
        self.messages = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += 1
        self.bytes += len(envelope.original_content)
        return "250 2.0.0 OK"


def serve(port: int, ready, stop, report) -> None:
    """An aiosmtpd server on 127.0.0.1:port until `stop` is set; reports (messages, bytes, CPU seconds)."""
    from aiosmtpd.controller import Controller

    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    ready.set()
    stop.wait()
    controller.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report.send((handler.messages, handler.bytes, usage.ru_utime + usage.ru_stime))


def messages(count: int, distinct: int = 1_000) -> list[tuple[bytes, str]]:
    """`count` messages of about 20 KB, each to its own address (`distinct` packaged emails, reused in turn)."""
    html = "<table>" + "".join(f"<tr><td>Product {i}: a fine thing at a fair price</td></tr>" for i in range(180))
    text = "\n".join(f"Product {i}: a fine thing at a fair price" for i in range(90))
    emails = [
        to_eml(
            RenderedEmail(f"u{n}", f"Customer {n}", f"Picks for you, customer {n}", text, f"{html}{n}</table>"),
            f"customer{n}@customers.example",
            DEFAULT_BRAND,
            DATE,
        )
        for n in range(min(count, distinct))
    ]
    return [(emails[n % len(emails)], f"customer{n}@customers.example") for n in range(count)]


def round_trip(port: int, probes: int = 2000) -> float:
    """Median seconds of a NOOP round trip on one connection."""
    smtp = smtplib.SMTP("127.0.0.1", port, timeout=10)
    times = []
    for _ in range(probes):
        start = time.perf_counter()
        smtp.noop()
        times.append(time.perf_counter() - start)
    smtp.quit()
    return sorted(times)[len(times) // 2]


def send_all(sender: SmtpEmailSender, batch: list[tuple[bytes, str]], connections: int) -> None:
    """Every message of `batch`, over `connections` sessions in as many threads (message i on thread i % N)."""

    def run(part: list[tuple[bytes, str]]) -> None:
        with sender.session() as session:
            for message, to in part:
                session.send(message, FROM, to)

    threads = [threading.Thread(target=run, args=(batch[i::connections],)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def measure(size: int, connections: int, batch: list[tuple[bytes, str]]) -> dict:
    port = 20000 + os.getpid() % 20000
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    receive, report = multiprocessing.Pipe(duplex=False)
    server = multiprocessing.Process(target=serve, args=(port, ready, stop, report))
    server.start()
    ready.wait(30)
    rtt = round_trip(port)
    sender = SmtpEmailSender(host="127.0.0.1", port=port, security="none")
    cpu_before, start = time.process_time(), time.perf_counter()
    send_all(sender, batch[:size], connections)
    wall, client_cpu = time.perf_counter() - start, time.process_time() - cpu_before
    stop.set()
    received, received_bytes, server_cpu = receive.recv()
    server.join()
    if received != size:
        raise RuntimeError(f"the server received {received} of {size} messages")
    return {
        "size": size,
        "connections": connections,
        "wall": wall,
        "rate": size / wall,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
        "rtt": rtt,
        "mb": received_bytes / 1e6,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| messages | connections | wall | messages/s | client CPU | server CPU | client CPU per message | "
        "server CPU per message | NOOP round trip |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']:,} | {r['connections']} | {r['wall']:.1f} s | {r['rate']:,.0f} | "
            f"{r['client_cpu']:.1f} s ({r['client_cpu'] / r['wall']:.0%}) | "
            f"{r['server_cpu']:.1f} s ({r['server_cpu'] / r['wall']:.0%}) | "
            f"{r['client_cpu'] / r['size'] * 1e3:.2f} ms | {r['server_cpu'] / r['size'] * 1e3:.2f} ms | "
            f"{r['rtt'] * 1e6:.0f} µs |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--write", action="store_true", help="write the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    batch = messages(max(args.sizes))
    size_kb = sum(len(m) for m, _ in batch) / len(batch) / 1e3
    rows = []
    for size in args.sizes:
        for connections in args.connections:
            rows.append(measure(size, connections, batch))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    load = os.getloadavg()[0]
    body = (
        f"Measured on {datetime.now(timezone.utc):%Y-%m-%d} with `python benchmarks/bench_send.py "
        f"--sizes {' '.join(map(str, args.sizes))} --connections {' '.join(map(str, args.connections))} --write` "
        f"on {os.cpu_count()} cores (load average {load:.1f} at the end: the machine is shared). SmtpEmailSender "
        f"(security none, no AUTH) to aiosmtpd {aiosmtpd_version()} on 127.0.0.1 in its own process; messages of "
        f"{size_kb:.1f} KB (emails.render.to_eml), one address each. CPU: user + system seconds of each process "
        "over the send (share of the wall time in brackets; one core is 100%); a message costs four round trips "
        "(MAIL, RCPT, DATA, the body).\n\n" + table(rows)
    )
    print(body)
    if args.write:
        write_section("send", "Sending to a local SMTP server", body)


def aiosmtpd_version() -> str:
    import aiosmtpd

    return aiosmtpd.__version__


if __name__ == "__main__":
    main()
