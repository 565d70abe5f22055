"""report.py -- read inspect's report strictly, in either format.

Both readers return the events of each session as dicts of bytes, the
same shape mta.Session expects, and raise Malformed at the first thing
inspect(8) does not allow: a line that is not JSON, or not whole; a
string that does not decode to bytes; a run's start line (text) or an
event's run (JSON) not as inspect-report(5) has it, or one session
number of two runs; a raw control byte, C1 control,
bidirectional control or line separator; an event whose lines are mixed
with another session's; a text escape that is not one of \\\\ \\" \\t
\\n \\r \\xHH \\uHHHH.
"""

import json
import re

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"
TEXT_HEAD = re.compile(r"\[(\d+)\] ([a-z]+) (" + STAMP + r")(?: (.*))?\Z",
                       re.S)
TEXT_LINE = re.compile(r"\[(\d+)\]  (.*)\Z", re.S)
RUN = r"\d{8}T\d{6}Z-p[1-9]\d*"
TEXT_START = re.compile(r"\[0\] start (%s) run (%s) inspect [!-~]+\Z" %
                        (STAMP, RUN))
TEXT_FLAGS = re.compile(r"(offered|answered|asked) (actions|steps): "
                        r"0x([0-9a-f]{8})(?: [A-Za-z0-9_|]+)?\Z")
TEXT_STRING = re.compile(r'([a-z]+|macro (?:[^"\\]|\\.)*?): "(.*)"\Z', re.S)
QUOTED = r'"((?:[^"\\]|\\.)*)"'
TEXT_REJECTED = re.compile(r"rejected: (?:%s|\(no status\)) (?:%s|\(no text\))\Z"
                           % (QUOTED, QUOTED), re.S)
TIME = re.compile(STAMP + r"\Z")
# What an event's first line says after its time, by stage.
HEADER_NAME = r'([!#-9;-\[\]-~]+|%s)' % QUOTED
TEXT_MAIN = {
    "negotiate": re.compile(r"(?:version (\d+)|as in session (\d+))\Z"),
    "connect": re.compile(r"%s %s\Z" % (QUOTED, QUOTED), re.S),
    "helo": re.compile(QUOTED + r"\Z", re.S),
    "unknown": re.compile(QUOTED + r"\Z", re.S),
    "envfrom": re.compile(QUOTED + r"\Z", re.S),
    "envrcpt": re.compile(QUOTED + r"\Z", re.S),
    "header": re.compile(r"%s: %s\Z" % (HEADER_NAME, QUOTED), re.S),
    "body": re.compile(r"(\d+) bytes\Z"),
}

# JSON keys of each stage besides session, run, stage, time and macros.
JSON_KEYS = {
    "negotiate": {"version", "offered", "answered"},
    "connect": {"host", "address", "family"},
    "helo": {"name"},
    "envfrom": {"address", "args"},
    "envrcpt": {"address", "args", "rejected", "rejection"},
    "data": set(), "eoh": set(), "eom": set(), "abort": set(),
    "close": set(),
    "header": {"name", "value"},
    "body": {"length", "chunk"},
    "unknown": {"command"},
}


# The connect address's parts besides its family, by family.
ADDRESS_KEYS = {"inet": {"ip", "port"}, "inet6": {"ip", "port"},
                "unix": {"path"}, "unknown": set()}


def address_of(obj, where):
    """The address, as bytes, that a JSON connect's family, ip, port and
    path make: what "address" holds, which the model checks."""
    family = obj["family"]
    if family in ("inet", "inet6"):
        if not isinstance(obj["ip"], str) or \
                not isinstance(obj["port"], int) or \
                isinstance(obj["port"], bool):
            raise Malformed("%s: ip %r, port %r" %
                            (where, obj["ip"], obj["port"]))
        return b"%s:%d@[%s]" % (family.encode(), obj["port"],
                                obj["ip"].encode())
    if family == "unix":
        return b"unix:" + raw(obj["path"], where + " path")
    return family.encode()


class Pairs(dict):
    """A JSON object that also keeps its members in order, names given
    twice included (a macro packet can hold a name twice)."""

    def __init__(self, pairs):
        super().__init__(pairs)
        self.pairs = pairs


class Malformed(Exception):
    """The report breaks a promise of inspect(8)."""


def unsafe(ch):
    """C1 controls, bidirectional controls, line and paragraph
    separators: what must never reach a terminal raw."""
    c = ord(ch)
    return (0x80 <= c <= 0x9F or c in (0x061C, 0x200E, 0x200F) or
            0x2028 <= c <= 0x202E or 0x2066 <= c <= 0x2069)


def check_raw(line, where):
    """A line as read from the report: valid UTF-8, and nothing a
    terminal would act on but its final line feed."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Malformed("%s: not UTF-8 (%s)" % (where, e))
    if not text.endswith("\n"):
        raise Malformed("%s: not a whole line" % where)
    for ch in text[:-1]:
        if ord(ch) < 0x20 or ord(ch) == 0x7F or unsafe(ch):
            raise Malformed("%s: raw U+%04X" % (where, ord(ch)))
    return text[:-1]


# One text escape, or what may not stand raw in a value.
ESCAPE = re.compile(r'\\(?:x([0-9a-f]{2})|u([0-9a-f]{4})|([\\"tnr]))|'
                    r'(\\|")')
SIMPLE = {"\\": b"\\", '"': b'"', "t": b"\t", "n": b"\n", "r": b"\r"}


def text_unescape(s, where):
    """The bytes behind a text value (between its quotes): only
    \\\\ \\" \\t \\n \\r \\xHH \\uHHHH, no raw '"' and no other
    backslash."""
    out = []
    pos = 0
    for m in ESCAPE.finditer(s):
        out.append(s[pos:m.start()].encode("utf-8"))
        pos = m.end()
        if m[1]:
            out.append(bytes([int(m[1], 16)]))
        elif m[2]:
            if not unsafe(chr(int(m[2], 16))):
                raise Malformed("%s: \\u%s is no code point that needs "
                                "escaping" % (where, m[2]))
            out.append(chr(int(m[2], 16)).encode("utf-8"))
        elif m[3]:
            out.append(SIMPLE[m[3]])
        else:
            raise Malformed("%s: raw %r in a value, at %r" %
                            (where, m[4], s[m.start():m.start() + 8]))
    out.append(s[pos:].encode("utf-8"))
    return b"".join(out)


def raw(s, where):
    """The bytes behind a JSON string (surrogateescape)."""
    if not isinstance(s, str):
        raise Malformed("%s: %r is not a string" % (where, s))
    try:
        return s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as e:
        raise Malformed("%s: does not give bytes back (%s)" % (where, e))


def json_event(line, where):
    """One JSON line as (session, time, event, run)."""
    text = check_raw(line, where)
    try:
        obj = json.loads(text, object_pairs_hook=Pairs)
    except ValueError as e:
        raise Malformed("%s: not JSON (%s)" % (where, e))
    if not isinstance(obj, dict) or obj.get("stage") not in JSON_KEYS:
        raise Malformed("%s: not an event" % where)
    stage = obj["stage"]
    keys = JSON_KEYS[stage]
    if stage == "connect":
        keys = keys | ADDRESS_KEYS.get(obj.get("family"), set())
    # Where libmilter told the MTA otherwise than inspect asked.
    if stage == "negotiate":
        keys = keys | ({"asked", "answered_version"} & set(obj))
    if set(obj) != {"session", "run", "stage", "time", "macros"} | keys:
        raise Malformed("%s: keys %s" % (where, sorted(obj)))
    # (run, session) names the session: the two first, together.
    if [k for k, _ in obj.pairs[:2]] != ["session", "run"] or \
            not isinstance(obj["run"], str) or \
            not re.fullmatch(RUN, obj["run"]):
        raise Malformed("%s: begins %r" % (where, obj.pairs[:2]))
    if not isinstance(obj["session"], int) or \
            not isinstance(obj["time"], str) or \
            not TIME.match(obj["time"]) or \
            not isinstance(obj["macros"], dict):
        raise Malformed("%s: bad session, time or macros" % where)
    ev = {"stage": stage}
    for key in ("host", "address", "name", "value", "command", "chunk"):
        if key in obj:
            ev[key] = raw(obj[key], "%s %s" % (where, key))
    if stage == "connect" and address_of(obj, where) != ev["address"]:
        raise Malformed("%s: family and parts %r for address %r" %
                        (where, address_of(obj, where), ev["address"]))
    if "args" in obj:
        if not isinstance(obj["args"], list):
            raise Malformed("%s: args" % where)
        ev["args"] = [raw(a, where + " args") for a in obj["args"]]
        # "address" is the first argument, kept apart for jq.
        if ev.pop("address", None) != (ev["args"][0] if ev["args"]
                                       else None):
            raise Malformed("%s: address is not the first argument" %
                            where)
    if "rejected" in obj:
        if not isinstance(obj["rejected"], bool):
            raise Malformed("%s: rejected" % where)
        ev["rejected"] = obj["rejected"]
        ev["rejection"] = json_rejection(obj["rejection"], where)
    if stage == "body" and obj["length"] != len(ev["chunk"]):
        raise Malformed("%s: length %r for %d bytes" %
                        (where, obj["length"], len(ev["chunk"])))
    if stage == "negotiate":
        if not isinstance(obj["version"], int):
            raise Malformed("%s: version" % where)
        ev["version"] = obj["version"]
        if "answered_version" in obj:
            if not isinstance(obj["answered_version"], int):
                raise Malformed("%s: answered_version" % where)
            ev["answered_version"] = obj["answered_version"]
        for side in ("offered", "answered", "asked"):
            if side == "asked" and side not in obj:
                continue
            f = obj[side]
            if not isinstance(f, dict) or \
                    not isinstance(f.get("actions"), int) or \
                    not isinstance(f.get("steps"), int):
                raise Malformed("%s: %s" % (where, side))
            ev[side] = (f["actions"], f["steps"])
    ev["macros"] = [(raw(k, where + " macro"), raw(v, where + " macro"))
                    for k, v in obj["macros"].pairs]
    return obj["session"], obj["time"], ev, obj["run"]


def json_rejection(r, where):
    """An envrcpt's "rejection" as (status, text) of bytes or None each,
    or None."""
    if r is None:
        return None
    if not isinstance(r, dict) or set(r) != {"status", "text"}:
        raise Malformed("%s: rejection %r" % (where, r))
    return tuple(None if r[k] is None else
                 raw(r[k], "%s rejection %s" % (where, k))
                 for k in ("status", "text"))


def read_json(data):
    """Sessions of a JSON report: {number: [(time, event), ...]}."""
    sessions, runs = {}, {}
    for n, line in enumerate(data.splitlines(keepends=True), 1):
        number, time, ev, run = json_event(line, "line %d" % n)
        if runs.setdefault(number, run) != run:
            raise Malformed("line %d: session %d of runs %s and %s" %
                            (n, number, runs[number], run))
        sessions.setdefault(number, []).append((time, ev))
    return sessions


def text_detail(ev, body, detail, where):
    """Add one "[S]  ..." line to ev."""
    stage = ev["stage"]
    # A list of flags cut into lines: the hex number above says it all.
    if stage == "negotiate" and re.fullmatch(r"  [A-Za-z0-9_|]+", detail):
        return
    m = TEXT_FLAGS.match(detail)
    if m and stage == "negotiate":
        side, kind, value = m[1], m[2], int(m[3], 16)
        # Text names the asked steps only: the actions are told as asked.
        pair = list(ev.get(side, (ev.get("answered", (None,))[0]
                                  if side == "asked" else None, None)))
        pair[0 if kind == "actions" else 1] = value
        ev[side] = tuple(pair)
        return
    m = re.fullmatch(r"(answered )?version: (\d+)", detail)
    key = "answered_version" if m and m[1] else "version"
    if m and stage == "negotiate" and key not in ev:
        ev[key] = int(m[2])
        return
    m = TEXT_REJECTED.match(detail)
    if m and stage == "envrcpt":
        if ev["rejected"] or ev["macros"]:
            raise Malformed("%s: rejected out of place" % where)
        ev["rejected"] = True
        ev["rejection"] = tuple(None if v is None else
                                text_unescape(v, where) for v in m.groups())
        return
    m = re.fullmatch(r"length: (\d+)", detail)
    if m and stage == "body":
        body["length"] = int(m[1])
        return
    m = TEXT_STRING.match(detail)
    if not m:
        raise Malformed("%s: %r" % (where, detail))
    key, value = m[1], text_unescape(m[2], where)
    if key.startswith("macro "):
        ev["macros"].append((text_unescape(key[6:], where), value))
    elif ev["macros"]:
        raise Malformed("%s: %s after the macros" % (where, key))
    elif stage in ("envfrom", "envrcpt") and key == "parameter":
        if not ev["args"]:
            raise Malformed("%s: %s out of place" % (where, key))
        ev["args"].append(value)
    elif key == "chunk" and stage == "body":
        if len(value) > 1024:
            raise Malformed("%s: chunk line of %d bytes" %
                            (where, len(value)))
        ev["chunk"] += value
    else:
        raise Malformed("%s: %s in a %s event" % (where, key, stage))


def text_main(ev, body, rest, where):
    """What an event's first line says after its time, into ev."""
    stage = ev["stage"]
    m = TEXT_MAIN[stage].match(rest) if stage in TEXT_MAIN else None
    if not m:
        raise Malformed("%s: %r after a %s's time" % (where, rest, stage))
    if stage == "negotiate" and m[2] is not None:
        ev["same_as"] = int(m[2])
    elif stage == "negotiate":
        ev["version"] = int(m[1])
    elif stage == "connect":
        ev["host"] = text_unescape(m[1], where)
        ev["address"] = text_unescape(m[2], where)
    elif stage in ("helo", "unknown"):
        ev["name" if stage == "helo" else "command"] = \
            text_unescape(m[1], where)
    elif stage in ("envfrom", "envrcpt"):
        ev["args"].append(text_unescape(m[1], where))
    elif stage == "header":
        ev["name"] = (text_unescape(m[2], where) if m[2] is not None
                      else m[1].encode())
        ev["value"] = text_unescape(m[3], where)
    else:
        body["length"] = int(m[1])


def read_text(data):
    """Sessions of a text report; an event is its first line and every
    line after it up to the next first line, all of one session."""
    sessions = {}
    ev = body = None
    current = None
    earlier = set()		# sessions of an earlier run
    for n, line in enumerate(data.splitlines(keepends=True), 1):
        where = "line %d" % n
        text = check_raw(line, where)
        if text.startswith("[0] "):
            start_line(text, where)
            ev = None
            earlier = set(sessions)
            continue
        m = TEXT_HEAD.match(text)
        if m:
            current = int(m[1])
            if current in earlier:
                raise Malformed("%s: session %d of two runs" %
                                (where, current))
            ev = {"stage": m[2], "macros": []}
            body = {}
            if m[2] in ("envfrom", "envrcpt"):
                ev["args"] = []
            if m[2] == "envrcpt":
                ev["rejected"] = False
                ev["rejection"] = None
            if m[2] == "body":
                ev["chunk"] = b""
            if m[4] is not None:
                text_main(ev, body, m[4], where)
            sessions.setdefault(current, []).append((m[3], ev, body))
            continue
        m = TEXT_LINE.match(text)
        if not m or ev is None:
            raise Malformed("%s: %r" % (where, text[:80]))
        if int(m[1]) != current:
            raise Malformed("%s: session %s inside an event of session "
                            "%d" % (where, m[1], current))
        text_detail(ev, body, m[2], where)
    # "as in session N": that session's negotiation, written in full,
    # here or in an earlier part of the same report (a case reads only
    # what was written since it began).
    for number, events in sessions.items():
        for _, ev, _ in events:
            if ev["stage"] == "negotiate" and "same_as" not in ev:
                FULL[number] = ev
    for number, events in sessions.items():
        for _, ev, _ in events:
            if "same_as" not in ev:
                continue
            same = FULL.get(ev["same_as"])
            if same is None:
                raise Malformed("session %d: negotiation as in session %d, "
                                "which has none in full" %
                                (number, ev["same_as"]))
            del ev["same_as"]
            ev.update((k, v) for k, v in same.items() if k != "macros")
    out = {}
    for number, events in sessions.items():
        for time, ev, body in events:
            if ev["stage"] == "body" and \
                    body.get("length") != len(ev["chunk"]):
                raise Malformed("session %d: body length %r for %d "
                                "bytes" % (number, body.get("length"),
                                           len(ev["chunk"])))
        out[number] = [(time, ev) for time, ev, _ in events]
    return out


def start_line(text, where):
    """A run's start line, "[0] start TIME run ID inspect VERSION", ID
    the run's start to the second (TIME's) and its pid; session 0 has
    no other line."""
    m = TEXT_START.match(text)
    if not m or re.sub(r"[-:]", "", m[1].split(".")[0]) + "Z" != \
            m[2].split("-")[0]:
        raise Malformed("%s: not a run's start line: %r" %
                        (where, text[:120]))


# The negotiations written in full so far, by session, for "as in
# session N" in a later part of the same report.
FULL = {}

# Set by a reader of a report inspect wrote with --color always --summary.
COLOR = False
# Every SGR sequence inspect writes, and only those.
SGR = re.compile(rb"\x1b\[(?:36|1;35|33|32|7|27|1;31|0)m")
SUMMARY = re.compile(r"\[\d+\] summary " + STAMP + r" client .* "
                     r"duration \d+\.\d{6}s\Z", re.S)


def uncolor(data):
    """A coloured text report without inspect's own SGR sequences and
    without its summary lines, each of which must be well-formed and as
    safe as every other line: what is left is read as any report."""
    plain = SGR.sub(b"", data)
    lines = []
    for n, line in enumerate(plain.splitlines(keepends=True), 1):
        text = check_raw(line, "line %d" % n)
        if text.startswith("[") and " summary " in text[:32] and \
                SUMMARY.match(text):
            continue
        lines.append(line)
    return b"".join(lines)


def read(data, fmt):
    """Sessions of a report in format fmt ("json" or "text")."""
    if COLOR and fmt == "text":
        data = uncolor(data)
    return read_json(data) if fmt == "json" else read_text(data)


def short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def compare(got, want, where):
    """Problems, as lines, between the events inspect wrote and those
    expected (lists of event dicts)."""
    for i, (g, w) in enumerate(zip(got, want)):
        if g == w:
            continue
        if g["stage"] != w["stage"]:
            return ["%s: event %d is %s, expected %s (stages %s)" %
                    (where, i, g["stage"], w["stage"],
                     [e["stage"] for e in got])]
        for key in sorted(set(g) | set(w)):
            if g.get(key) != w.get(key):
                return ["%s: %s event %d: %s is %s, expected %s" %
                        (where, g["stage"], i, key, short(g.get(key)),
                         short(w.get(key)))]
    if len(got) != len(want):
        return ["%s: stages %s, expected %s" %
                (where, [e["stage"] for e in got],
                 [e["stage"] for e in want])]
    return []
