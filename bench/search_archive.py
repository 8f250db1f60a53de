"""The archive of row 10 (bench/search.py): N distinct, realistic messages made from the
shared corpus, deterministic for a seed, written as a Maildir (LF line ends, as Maildirs
are; the SMTP clients send them with CRLF).

Each message is a corpus message (the template) with new Message-ID, Date (spread over two
years, in archive order), From / To / Cc drawn Zipf-like from a few hundred people at a
few domains, and words swapped into its subject and its editable text parts (text/plain,
no transfer encoding, an ASCII-compatible charset) from a vocabulary of made-up words
drawn Zipf-like, so the archive has very common and very rare terms. Made-up words end in
k or x so that no English stemmer (notmuch stems) folds two of them together. Some
messages get a phrase, some an attachment (random bytes, base64). The generator knows
which query terms it put where, so each query's expected hit count comes with the archive.
"""
import base64
import bisect
import datetime
import email.parser
import itertools
import multiprocessing
import os
import random
import re

DOMAINS = ("corp.example", "lawfirm.example", "supplier.example", "bank.example", "mail.example")
FIRST = ("anna bruno carla david elena frank greta hugo irene jonas karin leo maria nils olga paul "
         "rita sven tanja umar vera walter yasmin zoe").split()
LAST = ("adler becker costa dahl eriksen fischer garcia hansen ito jensen keller lopez meyer novak "
        "olsen petrov quinn rossi schmidt tanaka").split()
FILE_WORDS = "budget contract invoice minutes report forecast statement draft memo agenda".split()
FILE_TYPES = (("pdf", "application/pdf"), ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
              ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("zip", "application/zip"),
              ("png", "image/png"))
PHRASE = "merger agreement"
START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
SPAN_SECONDS = 2 * 365 * 86400
ZONES = [datetime.timezone(datetime.timedelta(hours=h)) for h in (0, 0, 1, -5, -8, 9)]
DROPPED = {"from", "to", "cc", "bcc", "date", "message-id", "subject", "sender", "return-path", "delivered-to",
           "mime-version", "content-type", "content-transfer-encoding", "content-disposition"}
# Prose words only: a word inside a URL, an address or a path is tokenized differently
# by each engine, which would blur the expected counts.
WORD = re.compile(rb"(?<![^\s(\"'])[A-Za-z]{3,12}(?=[\s.,;!?)\"']|$)")
HEADER_FIELD = re.compile(rb"^[!-9;-~]+:")
ASCII_COMPATIBLE = re.compile(r"^(us-ascii|ascii|iso-8859-\d+|utf-8|windows-125\d|koi8-r)$")


def vocabulary(size=50000, seed=1):
    """Made-up words, rank order: consonant-vowel syllables, then k or x."""
    rng = random.Random(seed)
    consonants, vowels = "bdfglmnprstvz", "aeiou"
    words, seen = [], set()
    while len(words) < size:
        w = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(3, 4))) + rng.choice("kx")
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def zipf_cumulative(n, s=1.0):
    return list(itertools.accumulate(1 / (r ** s) for r in range(1, n + 1)))


class Template:
    """A corpus message split into what the generator keeps (trace and other fields), its
    top-level content fields, its body, and the byte ranges of the body it may edit."""

    def __init__(self, raw: bytes):
        raw = raw.replace(b"\r\n", b"\n")
        if raw.startswith(b"From "):
            raw = raw.split(b"\n", 1)[1]
        head, sep, body = raw.partition(b"\n\n")
        fields = re.split(rb"\n(?![ \t])", head)
        self.kept = b"\n".join(f for f in fields if f.split(b":", 1)[0].strip().lower().decode("latin-1") not in DROPPED)
        self.content = b"\n".join(f for f in fields if f.split(b":", 1)[0].strip().lower() in
                                  (b"content-type", b"content-transfer-encoding", b"content-disposition"))
        subject = [f.split(b":", 1)[1] for f in fields if f.split(b":", 1)[0].strip().lower() == b"subject"]
        self.subject = re.sub(rb"\s+", b" ", subject[0]).strip() if subject else b"(no subject)"
        self.subject_editable = b"=?" not in self.subject and self.subject.isascii()
        self.body = body
        self.multipart = b"multipart/" in self.content.lower()
        # Word spans of the editable text, as offsets into the body.
        self.spans = [m.span() for start, end in editable(head + b"\n\n", body, 0) for m in WORD.finditer(body, start, end)]
        self.subject_spans = [m.span() for m in WORD.finditer(self.subject)] if self.subject_editable else []


def editable(head: bytes, body: bytes, offset: int):
    """Byte ranges (into the template's body) of the text/plain parts safe to edit."""
    msg = email.parser.BytesHeaderParser().parsebytes(head)
    ctype = msg.get_content_type()
    if ctype.startswith("multipart/"):
        boundary = msg.get_boundary()
        if not boundary:
            return []
        lines = list(re.finditer(rb"^--" + re.escape(boundary.encode("latin-1")) + rb"(--)?[ \t]*$", body, re.M))
        pieces = []
        for line, following in zip(lines, lines[1:] + [None]):
            if line.group(1):
                break  # the closing delimiter
            pieces.append((line.end() + 1, following.start() - 1 if following else len(body)))
        out = []
        for start, end in pieces:
            part = body[start:end]
            sep = part.find(b"\n\n")
            if sep < 0:
                continue
            out += editable(part[:sep + 2], part[sep + 2:], offset + start + sep + 2)
        return out
    cte = (msg.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    charset = (msg.get_content_charset() or "us-ascii").lower()
    if ctype == "text/plain" and cte in ("7bit", "8bit") and ASCII_COMPATIBLE.match(charset):
        return [(offset, offset + len(body))]
    return []


def corpus_templates(corpus: str):
    names = sorted(n for n in os.listdir(corpus) if n.startswith(("nice_", "spam_")))
    raws = [open(os.path.join(corpus, n), "rb").read() for n in names]
    # Mail only: the corpus also holds an SMTP transcript (spam_bsmtp), whose first line
    # is no header field.
    return [Template(raw) for raw in raws if HEADER_FIELD.match(raw.split(b"\n", 1)[1] if raw.startswith(b"From ") else raw)]


class Population:
    """People at a few domains; who sends and receives is Zipf-like (a few send most)."""

    def __init__(self, size=300, seed=2):
        rng = random.Random(seed)
        people = sorted({(f, l, d) for f in FIRST for l in LAST for d in DOMAINS})
        rng.shuffle(people)
        self.people = [(f"{f.capitalize()} {l.capitalize()}", f"{f}.{l}@{d}") for f, l, d in people[:size]]
        self.cumulative = zipf_cumulative(size)

    def pick(self, rng):
        return self.people[bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])]


class Plan:
    """Everything shared by the workers: templates, vocabulary, people, the query terms,
    and the N dates in archive order."""

    def __init__(self, corpus: str, count: int, seed: int):
        self.templates = corpus_templates(corpus)
        self.words = vocabulary()
        self.word_cumulative = zipf_cumulative(len(self.words))
        self.people = Population()
        rng = random.Random(seed)
        self.dates = sorted(rng.randrange(SPAN_SECONDS) for _ in range(count))
        self.seed = seed
        blob = random.Random(seed + 1)
        self.attachments = [base64.encodebytes(blob.randbytes(blob.randint(4000, 48000))) for _ in range(12)]
        # Query terms by rank: a rare word (about one message in 10,000), the
        # most common word, and three mid-rank words for the boolean query.
        self.rare = self.words[8000]
        self.common = self.words[0]
        self.either, self.other, self.excluded = self.words[40], self.words[55], self.words[6]
        self.sender = self.people.people[4]
        self.window = ("2025-03-01", "2025-06-01")


def draw_words(plan, rng, k):
    return [plan.words[i] for i in (bisect.bisect_left(plan.word_cumulative, rng.random() * plan.word_cumulative[-1])
                                    for _ in range(k))]


def swapped(text: bytes, spans, words):
    """`text` with the spans (sorted, disjoint) replaced by `words` in order."""
    out, last = [], 0
    for (start, end), word in zip(spans, words):
        out += [text[last:start], word.encode()]
        last = end
    out.append(text[last:])
    return b"".join(out)


def address_list(people):
    return ", ".join(f'"{name}" <{addr}>' for name, addr in people)


def message(plan, n):
    """Message n: its bytes (LF), its envelope, and the set of tracked facts for the truth."""
    rng = random.Random(plan.seed * 1000003 + n)
    t = plan.templates[rng.randrange(len(plan.templates))]
    body, subject = t.body, t.subject
    phrase = rng.random() < 0.02 and bool(t.spans or t.subject_spans)
    words = []
    if t.spans:
        spans = sorted(rng.sample(t.spans, min(len(t.spans), rng.randint(10, 40))))
        words = draw_words(plan, rng, len(spans))
        if phrase:
            words[-1] = "the " + PHRASE
        body = swapped(body, spans, words)
    if t.subject_spans and (rng.random() < 0.5 or (phrase and not t.spans)):
        span = t.subject_spans[rng.randrange(len(t.subject_spans))]
        word = [PHRASE] if phrase and not t.spans else draw_words(plan, rng, 1)
        words += word
        subject = swapped(subject, [span], word)
    inserted = set(words)
    sender = plan.people.pick(rng)
    to = list(dict.fromkeys(plan.people.pick(rng) for _ in range(rng.choice((1, 1, 1, 2, 3)))))
    cc = list(dict.fromkeys(plan.people.pick(rng) for _ in range(rng.choice((0, 0, 0, 1, 2)))))
    when = START + datetime.timedelta(seconds=plan.dates[n])
    local = when.astimezone(ZONES[rng.randrange(len(ZONES))])
    domain = sender[1].split("@")[1]
    head = [f"From: \"{sender[0]}\" <{sender[1]}>", f"To: {address_list(to)}"]
    if cc:
        head.append(f"Cc: {address_list(cc)}")
    head += [f"Subject: {('Re: ' if rng.random() < 0.3 else '')}{subject.decode('latin-1')}",
             f"Date: {local.strftime('%a, %d %b %Y %H:%M:%S %z')}",
             f"Message-ID: <{n}.{rng.getrandbits(48):012x}@{domain}>", "MIME-Version: 1.0"]
    top = "\n".join(head).encode("latin-1") + (b"\n" + t.kept if t.kept else b"")
    if not t.multipart and rng.random() < 0.08:
        word, (ext, ctype) = rng.choice(FILE_WORDS), rng.choice(FILE_TYPES)
        name = f"{word}-{when.year}-{rng.randint(1, 99):02d}.{ext}"
        boundary = f"=_bench_{n}_{rng.getrandbits(32):08x}".encode()
        content = t.content or b"Content-Type: text/plain; charset=us-ascii"
        raw = (top + b"\nContent-Type: multipart/mixed; boundary=\"" + boundary + b"\"\n\n--" + boundary + b"\n"
               + content + b"\n\n" + body + b"\n--" + boundary + b"\nContent-Type: " + ctype.encode() + b"; name=\""
               + name.encode() + b"\"\nContent-Disposition: attachment; filename=\"" + name.encode()
               + b"\"\nContent-Transfer-Encoding: base64\n\n" + plan.attachments[rng.randrange(len(plan.attachments))]
               + b"--" + boundary + b"--\n")
    else:
        raw = top + (b"\n" + t.content if t.content else b"") + b"\n\n" + body
    facts = {"rare": plan.rare in inserted, "common": plan.common in inserted, "phrase": phrase,
             "from_window": sender == plan.sender and plan.window[0] <= when.strftime("%Y-%m-%d") < plan.window[1],
             "boolean": (plan.either in inserted or plan.other in inserted) and plan.excluded not in inserted}
    return raw, (sender[1], [a for _, a in to + cc]), facts


_plan = None


def _init(plan):
    global _plan
    _plan = plan


def _write(args):
    """Writes messages [start, end) into the Maildir; returns envelopes, raw CRLF bytes, truth."""
    maildir, start, end = args
    envelopes, crlf_bytes, truth = [], 0, {}
    for n in range(start, end):
        raw, envelope, facts = message(_plan, n)
        path = os.path.join(maildir, "cur", f"{n:07d}.bench:2,S")
        with open(path, "wb") as f:
            f.write(raw)
        envelopes.append((path, *envelope))
        crlf_bytes += len(raw) + raw.count(b"\n")
        for key, value in facts.items():
            truth[key] = truth.get(key, 0) + value
    return envelopes, crlf_bytes, truth


class Archive:
    """The generated archive: `envelopes` in archive order (path, mail from, recipients),
    raw size with CRLF (as sent) and LF (as in the Maildir), and each query's expected
    hit count (`truth`), with the plan's query terms."""

    def __init__(self, corpus: str, maildir: str, count: int = 100000, seed: int = 25, processes: int = 2):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(maildir, sub), exist_ok=True)
        self.plan = Plan(corpus, count, seed)
        self.maildir, self.count = maildir, count
        step = 2000
        chunks = [(maildir, s, min(count, s + step)) for s in range(0, count, step)]
        self.envelopes, self.raw_bytes, self.truth = [], 0, {}
        with multiprocessing.get_context("fork").Pool(processes, initializer=_init, initargs=(self.plan,)) as pool:
            for envelopes, size, truth in pool.imap(_write, chunks):
                self.envelopes += envelopes
                self.raw_bytes += size
                for key, value in truth.items():
                    self.truth[key] = self.truth.get(key, 0) + value
        self.maildir_bytes = sum(os.path.getsize(p) for p, _, _ in self.envelopes)


if __name__ == "__main__":
    import sys
    import time
    begin = time.time()
    a = Archive(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 100000)
    print(f"{a.count} messages, {a.raw_bytes} B (CRLF), {a.maildir_bytes} B (LF) in {time.time() - begin:.1f} s; "
          f"truth {a.truth}; rare {a.plan.rare}, common {a.plan.common}")
