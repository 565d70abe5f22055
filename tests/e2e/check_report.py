#!/usr/bin/env python3
"""Check inspect's JSON report of the mails one pass of run.sh sent.

usage: check_report.py PASS REPORT MAILLOG MYHOSTNAME FACTS...

REPORT is inspect's --format json output, MAILLOG Postfix's log, and each
FACTS file (from run.sh for swaks, from smtp_send.py for smtplib) says
what one SMTP session sent and how Postfix answered.  Each event must
show exactly the macros Postfix sent with that stage: its default lists
or, for the pass named "request" (inspect with --request-macros), those
inspect asks for there that Postfix has.  Prints one line per check,
"ok ..." or "FAIL ...", for run.sh to count.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                ".."))

from jsonreport import Checks, read_sessions, with_helo  # noqa: E402

# Postfix's default milter_*_macros (postconf -d) that it has a value for
# in these sessions: no TLS and no AUTH here.
CONNECT_MACROS = ["j", "{daemon_name}", "{daemon_addr}", "v", "_"]
MAIL_MACROS = ["{mail_addr}", "{mail_host}", "{mail_mailer}"]
RCPT_MACROS = ["{rcpt_addr}", "{rcpt_host}", "{rcpt_mailer}"]
# With --request-macros Postfix sends these too, at connect only.
REQUEST_CONNECT = ["{client_addr}", "{client_port}", "{client_name}",
                   "{daemon_port}"]

# Headers Postfix adds when a local client leaves them out.
POSTFIX_ADDED = {"message-id", "date"}

# All SMFIF_* actions: what Postfix 3.x offers a milter.
ALL_ACTIONS = 0x1FF
SMFIF_SETSYMLIST = 0x100


def read_report(path, checks):
    """The events in REPORT, grouped by session."""
    sessions, bad = read_sessions(path)
    checks.check(not bad, "every line of the report is a JSON event "
                 "in UTF-8, its session and run first", bad[:3], [])
    runs = sorted({run for run, _ in sessions})
    checks.check(len(runs) == 1, "every event of one run", runs, "one")
    return sessions


def read_clients(path):
    """Queue id -> (client name, client port), from smtpd's log lines."""
    clients = {}
    pat = re.compile(r"postfix/smtpd\[\d+\]: ([0-9A-Za-z]+): "
                     r"client=([^\[\s]*)\[127\.0\.0\.1\]:(\d+)")
    with open(path, errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if m:
                clients[m.group(1)] = (m.group(2), int(m.group(3)))
    return clients


def split_message(message):
    """The headers (name, value as a milter gets it) and the body bytes.

    Folded lines are joined with LF and the CRLF that ends a header is
    dropped (libmilter's xxfi_header).  inspect negotiates SMFIP_HDR_LEADSPC,
    so a value keeps the space after the colon."""
    head, _, body = message.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return ([(n.decode(), v.decode("latin-1")) for n, v in headers], body)


def stage_outline(events):
    """The stages in order, a run of headers or body chunks as one."""
    out = []
    for ev in events:
        stage = ev["stage"]
        if stage in ("header", "body"):
            stage += "..."
        if not out or out[-1] != stage or not stage.endswith("..."):
            out.append(stage)
    return out


def unbracket(addr):
    return addr[1:-1] if addr.startswith("<") else addr


def to_bytes(s):
    """A JSON string back to the bytes inspect got (\\udcHH is byte HH)."""
    return s.encode("utf-8", "surrogateescape")


def check_session(c, events, facts, client, myhostname, request):
    qid = facts["qid"]
    by_stage = {}
    for ev in events:
        by_stage.setdefault(ev["stage"], []).append(ev)

    def first(stage):
        return by_stage.get(stage, [{}])[0]

    def macros(stage):
        return first(stage).get("macros", {})

    want = ["negotiate", "connect", "helo"]
    if "unknown" in facts:
        want.append("unknown")
    rejected = facts.get("rejected", [])
    want += ["envfrom"] + ["envrcpt"] * (len(facts["rcpts"]) + len(rejected))
    want += ["data", "header...", "eoh", "body...", "eom", "close"]
    c.equal(stage_outline(events), want, "stages in order, close last")

    # negotiate
    offered = first("negotiate").get("offered", {}).get("actions")
    c.check(offered == ALL_ACTIONS, "negotiate: Postfix offers actions 0x1ff",
            offered, ALL_ACTIONS)
    answered = first("negotiate").get("answered", {}).get("actions")
    if request:
        c.equal(answered, SMFIF_SETSYMLIST,
                "negotiate: inspect asks only to set the macro lists")
    else:
        c.equal(answered, 0, "negotiate: inspect asks for no actions")

    # connect
    name, port = client
    c.equal(first("connect").get("address"), "inet:%s@[127.0.0.1]" % port,
            "connect: address is the client's port and IP")
    c.equal({k: first("connect").get(k) for k in ("family", "ip", "port")},
            {"family": "inet", "ip": "127.0.0.1", "port": int(port)},
            "connect: family, ip and port (a number) beside the address")
    c.equal(first("connect").get("host"), name,
            "connect: host is the client name Postfix logged")
    m = macros("connect")
    if request:
        c.equal({n: m.get(n) for n in REQUEST_CONNECT},
                {"{client_addr}": "127.0.0.1", "{client_port}": str(port),
                 "{client_name}": name,
                 "{daemon_port}": str(facts["server_port"])},
                "connect: the client and daemon macros asked for")
    else:
        c.equal(sorted(m), sorted(CONNECT_MACROS),
                "connect: exactly Postfix's default macros j "
                "{daemon_name} {daemon_addr} v _")
    c.equal(m.get("j"), myhostname, "connect: j is myhostname")
    c.equal(m.get("{daemon_name}"), myhostname,
            "connect: {daemon_name} is myhostname")
    c.equal(m.get("{daemon_addr}"), "127.0.0.1",
            "connect: {daemon_addr} is 127.0.0.1")
    c.check(m.get("v", "").startswith("Postfix "),
            "connect: v starts with 'Postfix '", m.get("v"), "Postfix ...")
    c.check(m.get("_", "").endswith("[127.0.0.1]"),
            "connect: _ ends with [127.0.0.1]", m.get("_"),
            "NAME [127.0.0.1]")
    early = [n for n in ["i"] + MAIL_MACROS + RCPT_MACROS if n in m]
    c.equal(early, [], "connect: no queue id or envelope macro yet")

    # helo and unknown
    c.equal(first("helo").get("name"), facts["helo"], "helo: name as sent")
    if not request:
        c.equal(macros("helo"), {},
                "helo: no macros (the TLS ones only come with TLS)")
    if "unknown" in facts:
        # Postfix passes only the verb to milters, not its arguments.
        verb = facts["unknown"].split()[0]
        c.equal(first("unknown").get("command"), verb,
                "unknown: the command's verb %s" % verb)
        c.check(facts.get("unknown_reply", "").startswith("5"),
                "unknown: Postfix rejected the command",
                facts.get("unknown_reply"), "5xx")

    # envfrom
    c.equal(first("envfrom").get("args"), facts["mail"],
            "envfrom: address and ESMTP parameters as sent")
    m = macros("envfrom")
    sender = unbracket(facts["mail"][0])
    c.equal({n: m.get(n) for n in MAIL_MACROS},
            {"{mail_addr}": sender,
             "{mail_host}": sender.rpartition("@")[2],
             "{mail_mailer}": "discard"},
            "envfrom: {mail_addr} {mail_host} {mail_mailer}")
    c.equal(m.get("i"), None,
            "envfrom: no i yet (queue file not open before RCPT)")
    if request:
        # Asked for at connect only: libmilter keeps it visible.
        c.equal(m.get("{client_addr}"), None,
                "envfrom: no {client_addr}, asked for at connect only")
    else:
        c.equal(sorted(m), sorted(MAIL_MACROS),
                "envfrom: exactly {mail_addr} {mail_host} {mail_mailer}")

    # envrcpt: the accepted ones, then those Postfix rejected
    rcpts = [ev for ev in by_stage.get("envrcpt", []) if not ev.get("rejected")]
    refused = [ev for ev in by_stage.get("envrcpt", []) if ev.get("rejected")]
    c.equal([ev.get("args") for ev in refused], rejected,
            "envrcpt: the rejected recipients, and only they, marked rejected")
    if rejected:
        reply = facts.get("rejected_reply", "")
        m = refused[0]["macros"] if refused else {}
        c.equal(m.get("{rcpt_mailer}"), "error",
                "envrcpt: a rejected recipient has {rcpt_mailer} error")
        c.equal(m.get("{rcpt_host}"), reply.split()[1] if reply else None,
                "envrcpt: {rcpt_host} is the enhanced status of the reply")
        c.check("Recipient address rejected" in m.get("{rcpt_addr}", ""),
                "envrcpt: {rcpt_addr} is the reply text",
                m.get("{rcpt_addr}"), "...Recipient address rejected...")
        c.equal(refused[0].get("rejection") if refused else None,
                {"status": reply.split()[1] if reply else None,
                 "text": m.get("{rcpt_addr}")},
                "envrcpt: the rejection is the status and the reply text")
    c.equal([ev.get("rejection") for ev in rcpts], [None] * len(rcpts),
            "envrcpt: an accepted recipient has no rejection")
    c.equal([ev.get("args") for ev in rcpts], facts["rcpts"],
            "envrcpt: address and ESMTP parameters as sent")
    got = [{n: ev["macros"].get(n) for n in RCPT_MACROS} for ev in rcpts]
    want = []
    for r in facts["rcpts"]:
        addr = unbracket(r[0])
        want.append({"{rcpt_addr}": addr,
                     "{rcpt_host}": addr.rpartition("@")[2],
                     "{rcpt_mailer}": "discard"})
    c.equal(got, want, "envrcpt: {rcpt_addr} {rcpt_host} {rcpt_mailer}")
    if not request:
        c.equal([sorted(set(ev["macros"]) - {"i"}) for ev in rcpts],
                [sorted(RCPT_MACROS)] * len(rcpts),
                "envrcpt: exactly {rcpt_addr} {rcpt_host} {rcpt_mailer}, "
                "each with its own recipient's values")
    # Postfix opens the queue file once the first recipient is accepted,
    # so i comes with the second RCPT, not the first.
    got = [ev["macros"].get("i") for ev in rcpts]
    c.equal(got, [None] + [qid] * (len(rcpts) - 1),
            "envrcpt: i missing at the first RCPT, the queue id after")

    # data, headers, eoh, body, eom: i is the queue id of the reply.
    c.check(qid is not None, "Postfix's reply has a queue id",
            facts.get("reply"), "250 ... queued as ID")
    for stage in ("data", "eoh", "eom"):
        if request and stage != "data":
            # i is asked for up to data, where it is sure to be known;
            # nothing else asked for at eoh and eom is Postfix's.
            c.equal(macros(stage), {},
                    "%s: nothing, i asked for up to data only" % stage)
        else:
            c.equal(macros(stage), {"i": qid},
                    "%s: only i, the queued-as id %s" % (stage, qid))
    # Postfix sends i with every header and body chunk too, which
    # libmilter drops: nothing to show there.
    later = [ev["macros"] for ev in events
             if ev["stage"] in ("header", "body", "close")]
    c.check(later and all(m == {} for m in later),
            "header, body and close events show no macros",
            [m for m in later if m][:1], [{}])

    # headers
    sent, body = split_message(facts["message"].encode("latin-1"))
    got = [(ev.get("name"), ev.get("value"))
           for ev in by_stage.get("header", [])]
    c.equal(got[:len(sent)], sent,
            "header: the %d headers sent, in order, values exact" % len(sent))
    extra = [n for n, _ in got[len(sent):]]
    c.check(all(n.lower() in POSTFIX_ADDED for n in extra),
            "header: after them only what Postfix adds (%s)"
            % (" ".join(extra) or "none"), extra, sorted(POSTFIX_ADDED))
    c.check(all(n.lower() != "received" for n, _ in got),
            "header: Postfix's own Received is hidden")
    subject = [v for n, v in got if n == "Subject"]
    c.equal(subject, [v for n, v in sent if n == "Subject"],
            "header: Subject value exact")
    folded = [v for n, v in got if "\n" in v]
    c.check(folded and folded == [v for n, v in sent if "\n" in v],
            "header: folded header keeps its line breaks as \\n", folded)

    # body
    chunks = by_stage.get("body", [])
    data = b"".join(to_bytes(ev.get("chunk", "")) for ev in chunks)
    c.equal(data, body, "body: chunks' bytes are the body sent, CRLF ends")
    c.check(all(ev.get("length") == len(to_bytes(ev.get("chunk", "")))
                for ev in chunks), "body: each length matches its chunk")

    c.check(len(by_stage.get("close", [])) == 1, "close: one per session")


def main():
    label, report, maillog, myhostname = sys.argv[1:5]
    c = Checks("[%s]" % label)
    sessions = read_report(report, c)
    clients = read_clients(maillog)
    for path in sys.argv[5:]:
        with open(path) as f:
            facts = json.load(f)
        c = Checks("[%s %s]" % (label, facts["sender"]))
        found = with_helo(sessions, facts["helo"])
        if not c.equal(len(found), 1, "one session with HELO %s"
                       % facts["helo"]):
            continue
        client = clients.get(facts["qid"], (None, None))
        if facts.get("client_port") is not None:
            c.equal(client[1], facts["client_port"],
                    "Postfix logged the client port smtplib used")
        if not c.check(client[1] is not None,
                       "Postfix logged the client of %s" % facts["qid"]):
            continue
        check_session(c, found[0], facts, client, myhostname,
                      label == "request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
