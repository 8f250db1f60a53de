"""Row 10 of bench/run: search (issue 25) against notmuch on the same messages, in one run.

An archive of N messages (bench/search_archive.py, default 100,000) is written as a
Maildir. notmuch indexes it (`notmuch new`, timed); a fresh node (archive only, default
configuration, row 2's) receives the same messages from client processes at its own pace
while the search index's lag (`archive_search_index_lag_messages`) is sampled every
second. Then five queries, each as `--count` and as the first 100 hits, run as the CLI of
each side (process start included), the sides taking turns; then the index sizes.

notmuch's side of "the first 100 hits" is `notmuch search --output=messages --limit=100`:
message ids only, sorted newest first like ours, and no thread building (the default
`--output=summary` groups by thread, work our search does not do). It is notmuch's
cheapest listing, so the ratio against it is the strict one.
"""
import math
import multiprocessing
import os
import smtplib
import statistics
import subprocess
import threading
import time

import search_archive

CLIENTS = 8
REPEATS = 20


class Query:
    """One query in both languages, with the generator's fact that gives its expected hits."""

    def __init__(self, name, ours, notmuch, fact):
        self.name, self.ours, self.notmuch, self.fact = name, ours, notmuch, fact


def queries(plan):
    since, until = plan.window
    last_day = time.strftime("%Y-%m-%d", time.gmtime(time.mktime(time.strptime(until, "%Y-%m-%d")) - 86400))
    sender = plan.sender[1]
    return [Query("rare word", plan.rare, plan.rare, "rare"),
            Query("common word", plan.common, plan.common, "common"),
            Query("phrase", f'"{search_archive.PHRASE}"', f'"{search_archive.PHRASE}"', "phrase"),
            Query("from: + date range", f"from:{sender} after:{since} before:{until}",
                  f"from:{sender} date:{since}..{last_day}", "from_window"),
            Query("3-term boolean", f"({plan.either} OR {plan.other}) -{plan.excluded}",
                  f"({plan.either} OR {plan.other}) AND NOT {plan.excluded}", "boolean")]


# notmuch --------------------------------------------------------------------------------

class Notmuch:
    """notmuch over the Maildir, with its own config file and home in the work directory
    (no user file is read or written)."""

    def __init__(self, maildir, work):
        home = os.path.join(work, "notmuch-home")
        os.makedirs(home, exist_ok=True)
        config = os.path.join(work, "notmuch-config")
        with open(config, "w") as f:
            f.write(f"[database]\npath={maildir}\n\n[user]\nname=Bench\nprimary_email=bench@bench.invalid\n\n"
                    "[new]\ntags=inbox;\nignore=\n\n[search]\nexclude_tags=\n\n[maildir]\nsynchronize_flags=false\n")
        # TZ=UTC: notmuch reads date: ranges in local time, ours in UTC.
        self.env = {**os.environ, "NOTMUCH_CONFIG": config, "HOME": home, "XDG_CONFIG_HOME": home,
                    "XDG_DATA_HOME": home, "TZ": "UTC"}
        self.database = os.path.join(maildir, ".notmuch")

    def new(self):
        start = time.perf_counter()
        subprocess.run(["notmuch", "new", "--quiet"], env=self.env, check=True, capture_output=True)
        return time.perf_counter() - start

    def count(self, query):
        return ["notmuch", "count", query]

    def first_hits(self, query):
        return ["notmuch", "search", "--output=messages", "--limit=100", query]

    def size(self):
        return directory_bytes(os.path.join(self.database, "xapian"))


def directory_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


# ingest -----------------------------------------------------------------------------------

class LagSampler:
    """Samples the node's search index lag once a second in a thread; None when the node
    does not export the metric."""

    METRIC = "archive_search_index_lag_messages"

    def __init__(self, node):
        self.node, self.samples, self.stopped = node, [], threading.Event()
        self.begin = time.time()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopped.is_set():
            try:
                lag = self.node.metric(self.METRIC, default=None)
            except OSError:
                lag = None  # an admin endpoint too busy to answer within its timeout: a gap, not the end
            self.samples.append((time.time() - self.begin, lag))
            self.stopped.wait(1)

    def stop(self):
        self.stopped.set()
        self.thread.join()


def slope(points):
    """Least-squares slope of (t, y) points; 0 with fewer than two."""
    if len(points) < 2:
        return 0.0
    mt = statistics.fmean(t for t, _ in points)
    my = statistics.fmean(y for _, y in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


def _send(args):
    """One client over one connection: the messages as CRLF, each to its own recipients;
    as fast as the node answers, or at `rate` on a fixed schedule (a late message does
    not shift the ones after it)."""
    port, envelopes, rate = args
    refused = 0
    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.ehlo("bench.example")
        due = time.monotonic()
        for path, mail_from, recipients in envelopes:
            with open(path, "rb") as f:
                data = f.read().replace(b"\n", b"\r\n")
            try:
                smtp.sendmail(mail_from, recipients, data)
            except smtplib.SMTPResponseException:
                refused += 1
            if rate:
                due += 1 / rate
                time.sleep(max(0.0, due - time.monotonic()))
    return refused


def ingest(node, archive, catch_up_limit=600, rate=None):
    """Sends the archive in archive order through CLIENTS processes (client i takes
    messages i, i + CLIENTS, ...), as fast as the node takes them or at `rate` msg/s in
    all; the lag while it runs and until it is back at 0."""
    sampler = LagSampler(node)
    with multiprocessing.get_context("fork").Pool(CLIENTS) as pool:
        shares = [(node.port, archive.envelopes[i::CLIENTS], rate / CLIENTS if rate else None) for i in range(CLIENTS)]
        refused = sum(pool.map(_send, shares))
    sent = time.time() - sampler.begin
    sampler.stop()
    lag = node.metric(LagSampler.METRIC, default=None)
    caught_up = None
    if lag is not None:
        deadline = time.time() + catch_up_limit
        while lag > 0 and time.time() < deadline:
            time.sleep(0.1)
            lag = node.metric(LagSampler.METRIC, default=None)
        caught_up = round(time.time() - sampler.begin - sent, 1) if lag == 0 else None
    known = [(t, y) for t, y in sampler.samples if y is not None]
    rate = archive.count / sent
    second_half = slope([(t, y) for t, y in known if t >= sent / 2])
    return {"messages": archive.count, "refused": refused, "seconds": round(sent, 1), "msgs_per_s": round(rate),
            "lag_max": max((y for _, y in known), default=None), "lag_slope_second_half": round(second_half, 1),
            # Growing: the index falls behind by more than 1% of the ingest rate.
            "lag_growing": second_half > 0.01 * rate if known else None,
            "seconds_to_lag_zero": caught_up, "lag_samples": [[round(t, 1), y] for t, y in sampler.samples]}


# queries ----------------------------------------------------------------------------------

def timed(command, env=None):
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, env=env)
    return time.perf_counter() - start, out


def first_line(out):
    """What a failed command said first (a usage error's last line is only a pointer to --help)."""
    lines = [line.strip() for line in out.stderr.splitlines() if line.strip()]
    return (lines[0] if lines else f"exit status {out.returncode}")[:200]


def percentile(samples, p):
    """Nearest rank: of 20 runs, p95 is the 19th fastest."""
    s = sorted(samples)
    return s[max(0, math.ceil(p * len(s)) - 1)]


def run_query(binary, data_dir, notmuch, query, repeats):
    """Both forms of one query, each side `repeats` times, taking turns; p50/p95 in ms and
    the hit counts. A side whose command fails records the error and is not repeated."""
    ours_count = [binary, "archive", "search", "--data-dir", data_dir, "--count", query.ours]
    ours_first = [binary, "archive", "search", "--data-dir", data_dir, "--limit", "100", query.ours]
    forms = {"count": (ours_count, notmuch.count(query.notmuch)), "limit_100": (ours_first, notmuch.first_hits(query.notmuch))}
    result = {"query": query.name, "ours_query": query.ours, "notmuch_query": query.notmuch}
    for form, (ours, theirs) in forms.items():
        times = {"ours": [], "notmuch": []}
        outputs, errors = {}, {}
        for _ in range(repeats):
            for side, command, env in (("ours", ours, None), ("notmuch", theirs, notmuch.env)):
                if side in errors:
                    continue
                elapsed, out = timed(command, env)
                if out.returncode != 0:
                    errors[side] = first_line(out)
                    continue
                times[side].append(elapsed)
                outputs[side] = out.stdout
        for side in ("ours", "notmuch"):
            entry = {"error": errors[side]} if side in errors else {
                "p50_ms": round(percentile(times[side], 0.5) * 1000, 1), "p95_ms": round(percentile(times[side], 0.95) * 1000, 1)}
            if side in outputs:
                text = outputs[side]
                entry["hits" if form == "count" else "lines"] = int(text.split()[0]) if form == "count" and text.split() \
                    else len(text.splitlines())
            result.setdefault(side, {})[form] = entry
    return result


def process_start(binary, notmuch, repeats):
    """Each side's floor: a process that starts, parses its arguments and exits
    (`--version`), p50/p95 in ms. The queries' figures include it; the table also gives
    them without it, which is what each engine's query costs."""
    times = {"ours": [], "notmuch": []}
    for _ in range(repeats):
        for side, command, env in (("ours", [binary, "--version"], None), ("notmuch", ["notmuch", "--version"], notmuch.env)):
            elapsed, _ = timed(command, env)
            times[side].append(elapsed)
    return {side: {"p50_ms": round(percentile(t, 0.5) * 1000, 1), "p95_ms": round(percentile(t, 0.95) * 1000, 1)}
            for side, t in times.items()}


# the row ------------------------------------------------------------------------------------

def measure(node, binary, work, corpus, count=100000, repeats=REPEATS):
    """Everything of row 10 but starting and stopping the node (the harness does)."""
    begin = time.perf_counter()
    archive = search_archive.Archive(corpus, os.path.join(work, "search-maildir"), count)
    generated = time.perf_counter() - begin
    notmuch = Notmuch(archive.maildir, work)
    notmuch_new = notmuch.new()
    ingested = ingest(node, archive)
    index = os.path.join(node.data, "archive", "search.sqlite")
    index_bytes = sum(os.path.getsize(index + suffix) for suffix in ("", "-wal") if os.path.exists(index + suffix))
    stats = node.stats()
    startup = process_start(binary, notmuch, repeats)
    results = [run_query(binary, node.data, notmuch, q, repeats) for q in queries(archive.plan)]
    for q, r in zip(queries(archive.plan), results):
        r["expected"] = archive.truth.get(q.fact)
    # Sustained ingest below the node's limit, as a node whose clients are elsewhere sees
    # it: the as-fast-as-possible ingest above saturates both cores with the node and its
    # 8 local clients, and the indexer, at niceness 10, gets only what is left.
    more = search_archive.Archive(corpus, os.path.join(work, "search-maildir-paced"), max(1000, count * 3 // 10), seed=26)
    paced = ingest(node, more, rate=round(0.8 * ingested["msgs_per_s"]))
    paced["offered_msgs_per_s"] = round(0.8 * ingested["msgs_per_s"])
    return {"messages": count, "generate_seconds": round(generated, 1), "raw_bytes": archive.raw_bytes,
            "maildir_bytes": archive.maildir_bytes, "stored_bytes": stats.get("stored_bytes"),
            "notmuch_new_seconds": round(notmuch_new, 1), "ingest": ingested, "paced_ingest": paced, "queries": results,
            "process_start": startup,
            "index_bytes": index_bytes if os.path.exists(index) else None, "notmuch_bytes": notmuch.size()}


def reindex(binary, data_dir):
    """`archive reindex` on the stopped node's data directory, timed: the indexes built
    from the archive alone, the closest match to `notmuch new` on a Maildir; says whether
    it rewrote search.sqlite (or rebuilt index.sqlite only)."""
    index = os.path.join(data_dir, "archive", "search.sqlite")
    before = os.path.getmtime(index) if os.path.exists(index) else None
    elapsed, out = timed([binary, "archive", "reindex", "--data-dir", data_dir])
    if out.returncode != 0:
        return {"error": first_line(out)}
    after = os.path.getmtime(index) if os.path.exists(index) else None
    return {"seconds": round(elapsed, 1), "search_index_rebuilt": after is not None and after != before}


def _timing(entry):
    return entry.get("error") or f"p50 {entry['p50_ms']} / p95 {entry['p95_ms']} ms"


def _ratio(ours, theirs, start=None):
    if "p95_ms" not in ours or "p95_ms" not in theirs:
        return ""
    ratio = f"{ours['p95_ms'] / max(theirs['p95_ms'], 1e-6):.2f}x notmuch (p95)"
    if start:
        net_ours = ours["p95_ms"] - start["ours"]["p50_ms"]
        net_theirs = theirs["p95_ms"] - start["notmuch"]["p50_ms"]
        ratio += f"; without process start {net_ours:.1f} / {net_theirs:.1f} ms"
    return ratio


def rows(s) -> list:
    """The row's lines of the results table."""
    g = s["ingest"]
    lag = "no lag metric" if g["lag_max"] is None else (
        f"lag max {g['lag_max']:.0f}, second-half slope {g['lag_slope_second_half']} msg/s "
        f"({'growing' if g['lag_growing'] else 'not growing'}), 0 after "
        + (f"{g['seconds_to_lag_zero']} s" if g["seconds_to_lag_zero"] is not None else "never (limit)"))
    built = g["seconds"] + (g["seconds_to_lag_zero"] or 0)
    reindexed = s.get("reindex", {})
    lines = [f"| 10 | search: {s['messages']:,} generated messages ({s['raw_bytes'] / 2**20:.0f} MiB), ingest with indexing, "
             f"{CLIENTS} clients | {g['msgs_per_s']} msg/s ({g['refused']} refused), {lag}; index built in {built:.1f} s "
             f"from the first message sent; notmuch new {s['notmuch_new_seconds']} s"
             + (f"; archive reindex {reindexed['seconds']} s for all {s['messages'] + s.get('paced_ingest', {}).get('messages', 0):,}"
                + ("" if reindexed.get("search_index_rebuilt") else
                                                                  " (search.sqlite not rewritten)") if "seconds" in reindexed
                else f"; archive reindex: {reindexed.get('error', 'not run')}")
             + f" | {built / max(s['notmuch_new_seconds'], 1e-6):.2f}x notmuch new | faster than notmuch new, lag not growing |"]
    if s.get("paced_ingest"):
        p = s["paced_ingest"]
        lines.append(f"| 10 | search: {p['messages']:,} more messages at {p['offered_msgs_per_s']} msg/s offered (0.8 of the above) | "
                     f"{p['msgs_per_s']} msg/s, lag max {p['lag_max']}, second-half slope {p['lag_slope_second_half']} msg/s "
                     f"({'growing' if p['lag_growing'] else 'not growing'}), 0 after {p['seconds_to_lag_zero']} s | | lag not growing |")
    for q in s["queries"]:
        for form, label in (("count", "--count"), ("limit_100", "--limit 100")):
            ours, theirs = q["ours"][form], q["notmuch"][form]
            hits = ""
            if form == "count":
                hits = f"; hits ours {ours.get('hits', '-')}, notmuch {theirs.get('hits', '-')}, generator {q['expected']}"
            lines.append(f"| 10 | search {q['query']} `{q['ours_query']}` ({label}; notmuch `{q['notmuch_query']}`) | "
                         f"ours {_timing(ours)}; notmuch {_timing(theirs)}{hits} | {_ratio(ours, theirs, s.get('process_start'))} | "
                         f"p95 <= 2x notmuch and <= 50 ms |")
    if s.get("process_start"):
        p = s["process_start"]
        lines.append(f"| 10 | process start (`--version`), in every query figure above | ours p50 {p['ours']['p50_ms']} / "
                     f"p95 {p['ours']['p95_ms']} ms; notmuch p50 {p['notmuch']['p50_ms']} / p95 {p['notmuch']['p95_ms']} ms | | |")
    raw = s["raw_bytes"]
    ours = "no search.sqlite" if s["index_bytes"] is None else (
        f"search.sqlite {s['index_bytes'] / 2**20:.1f} MiB = {s['index_bytes'] / raw:.3f} of raw"
        + (f", {s['index_bytes'] / s['stored_bytes']:.2f} of the stored archive" if s.get("stored_bytes") else ""))
    lines.append(f"| 10 | search index size | {ours}; notmuch (Xapian) {s['notmuch_bytes'] / 2**20:.1f} MiB = "
                 f"{s['notmuch_bytes'] / raw:.3f} of raw ({s['notmuch_bytes'] / s['maildir_bytes']:.3f} of its Maildir) | "
                 + (f"{s['index_bytes'] / max(s['notmuch_bytes'], 1):.2f}x notmuch" if s["index_bytes"] else "")
                 + " | <= 0.4x raw |")
    return lines
