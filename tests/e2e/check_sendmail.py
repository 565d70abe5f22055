#!/usr/bin/env python3
"""Check inspect's JSON report of the sessions sendmail.sh sent through
Sendmail, against what the sessions sent and what Sendmail logged.

usage: check_sendmail.py MODE REPORT DEBUGLOG FILTER DAEMON FACTS...

MODE is how that inspect ran: "default", "replies" (--no-reply no) or
"request" (--request-macros).  REPORT is its --format json output,
DEBUGLOG Sendmail's -d64.20 output, FILTER the inspect's name in
Sendmail's configuration, DAEMON the Name of the IPv4 daemon whose milter
it is (over IPv6 it is always MTA6), and each FACTS file (from
sendmail_send.py) one SMTP session: what it sent and how Sendmail
answered.  Sendmail's log is an independent view of the wire: every
command and every macro packet inspect shows must be one Sendmail says it
sent, in the same order, a packet at the same stage.  Prints one line per
check, "ok ..." or "FAIL ...", for sendmail.sh to count.
"""

import json
import re
import sys

from check_report import Checks, read_report, split_message, stage_outline
from check_report import to_bytes

MYHOSTNAME = "mta.example.test"
DAEMON6_NAME = "MTA6"		# DAEMON_OPTIONS' Name= of the IPv6 daemon
LOOPBACK6 = "[IPv6:0:0:0:0:0:0:0:1]"	# how Sendmail writes ::1

# Sendmail's default Milter.macros lists (confMILTER_MACROS_*), less the
# macros it has no value for here: no {if_addr} on loopback, no TLS, no
# AUTH.  data and eoh have empty lists.
CONNECT_MACROS = ["j", "_", "{daemon_name}", "{if_name}"]
MAIL_MACROS = ["i", "{mail_mailer}", "{mail_host}", "{mail_addr}"]
RCPT_MACROS = ["{rcpt_mailer}", "{rcpt_host}", "{rcpt_addr}"]
EOM_MACROS = ["{msg_id}"]

# The stage of each command character in Sendmail's log; a macro packet
# names the command it comes before.
STAGE_OF = {"C": "connect", "H": "helo", "M": "envfrom", "R": "envrcpt",
            "T": "data", "N": "eoh", "E": "eom", "U": "unknown",
            "L": "header", "B": "body", "A": "abort"}

ALL_ACTIONS = 0x1FF
ALL_STEPS = 0x1FFFFF
SMFIF_SETSYMLIST = 0x100

SEND_MACRO = re.compile(r"milter_send_macros\((\S+), (.)\): ([^=]*)=(.*)$")
WRITE = re.compile(r"milter_write\((\S+)\): cmd (.), len (\d+)$")


def read_wire(path):
    """Filter name -> its sessions, each a dict: "packets", the macro
    packets Sendmail sent as (stage, [(name, value)...]), empty ones left
    out (libmilter drops them); "commands", the command characters it
    wrote, in order.  An option negotiation ("O") starts a session."""
    sessions, pending = {}, {}
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            m = SEND_MACRO.match(line)
            if m:
                name, stage, macro, value = m.groups()
                pending.setdefault(name, (stage, []))[1].append(
                    (macro, value))
                continue
            m = WRITE.match(line)
            if not m:
                continue
            name, cmd = m.group(1), m.group(2)
            if cmd == "O":
                sessions.setdefault(name, []).append(
                    {"packets": [], "commands": []})
            if name not in sessions:
                continue
            session = sessions[name][-1]
            session["commands"].append(cmd)
            if cmd == "D":
                stage, macros = pending.pop(name, (None, []))
                if macros:
                    session["packets"].append((STAGE_OF.get(stage, stage),
                                               macros))
    return sessions


def shown_packets(events):
    """What inspect shows as sent: (stage, [(name, value)...]) per event
    that has macros, in the order of the report."""
    return [(ev["stage"], list(ev["macros"].items()))
            for ev in events if ev.get("macros")]


def commands(events):
    """The stages of a session that are commands on the wire, aborts
    left out (libmilter calls some itself)."""
    return [ev["stage"] for ev in events
            if ev["stage"] not in ("negotiate", "abort", "close")]


def check_wire(c, sessions, wire):
    """Every session as inspect shows it is what Sendmail logged it sent:
    each command in order, each macro packet at its stage."""
    ordered = [sessions[n] for n in sorted(sessions)]
    c.equal(len(ordered), len(wire),
            "as many sessions in the report as Sendmail opened")
    sent = [[STAGE_OF[cmd] for cmd in ws["commands"] if cmd not in "ODQA"]
            for ws in wire]
    shown = [commands(events) for events in ordered]
    c.check(shown == sent and sent, "every command Sendmail sent is in "
            "the report, in order (%d commands)" % sum(map(len, sent)),
            [s for s, w in zip(shown, sent) if s != w][:1],
            [w for s, w in zip(shown, sent) if s != w][:1])
    checked = mismatched = 0
    first = None
    for events, ws in zip(ordered, wire):
        shown, sent = shown_packets(events), ws["packets"]
        checked += len(sent)
        if shown != sent:
            mismatched += 1
            first = first or (shown, sent)
    c.check(first is None and checked > 0,
            "every stage's macros are those Sendmail's log says it sent "
            "(%d packets, %d sessions differ)" % (checked, mismatched),
            first and first[0], first and first[1])


def check_connect(c, ev, facts, mode, daemon):
    v6 = facts.get("family") == "inet6"
    port = facts["client_port"]
    if v6:
        c.equal(ev.get("address"), "inet6:%d@[::1]" % port,
                "connect: address is the client's port and ::1")
        c.equal(ev.get("host"), LOOPBACK6,
                "connect: host is Sendmail's [IPv6:...] form")
    else:
        c.equal(ev.get("address"), "inet:%d@[127.0.0.1]" % port,
                "connect: address is the client's port and IP")
        c.equal(ev.get("host"), "localhost",
                "connect: host is the client's name (from /etc/hosts)")
    m = ev.get("macros", {})
    if mode == "request":
        # Sendmail's lists do not have it: here only because asked for.
        c.equal(m.get("{client_addr}"), "127.0.0.1",
                "connect: {client_addr} sent, as asked for")
        return
    c.equal(list(m), CONNECT_MACROS,
            "connect: exactly Sendmail's default j _ {daemon_name} "
            "{if_name} (no {if_addr} on loopback)")
    c.equal(m.get("j"), MYHOSTNAME, "connect: j is the host name")
    c.equal(m.get("{daemon_name}"), DAEMON6_NAME if v6 else daemon,
            "connect: {daemon_name} is DAEMON_OPTIONS' Name")
    if v6:
        c.check(LOOPBACK6 in m.get("_", ""), "connect: _ names " + LOOPBACK6,
                m.get("_"), "... %s" % LOOPBACK6)
    else:
        c.equal(m.get("_"), "localhost [127.0.0.1]",
                "connect: _ is the client's name and address")
        c.equal(m.get("{if_name}"), "localhost",
                "connect: {if_name} is the interface's name")


def check_envelope(c, by_stage, facts, mode):
    mails = by_stage.get("envfrom", [])
    c.equal([ev.get("args") for ev in mails], facts["mail"],
            "envfrom: address and ESMTP parameters as sent")
    for ev, args in zip(mails, facts["mail"]):
        m = ev.get("macros", {})
        sender = args[0][1:-1]
        if mode != "request":
            c.equal(list(m), MAIL_MACROS, "envfrom %s: exactly Sendmail's "
                    "default i {mail_mailer} {mail_host} {mail_addr}"
                    % args[0])
        # Sendmail's daemon writes {mail_host} canonical, with a dot.
        c.equal({n: m.get(n) for n in MAIL_MACROS[1:]},
                {"{mail_mailer}": "esmtp",
                 "{mail_host}": sender.rpartition("@")[2] + ".",
                 "{mail_addr}": sender},
                "envfrom %s: {mail_mailer} {mail_host} {mail_addr}"
                % args[0])
        c.check(bool(m.get("i")), "envfrom %s: i, the queue id, already "
                "set at MAIL" % args[0], m.get("i"), "a queue id")
    if facts.get("qid") and mails:
        c.equal(mails[0].get("macros", {}).get("i"), facts["qid"],
                "envfrom: i is the id of Sendmail's 250 after DATA")

    rcpts = by_stage.get("envrcpt", [])
    c.equal([ev.get("args") for ev in rcpts if not ev.get("rejected")],
            facts["rcpts"], "envrcpt: address and ESMTP parameters as sent")
    c.equal([ev.get("args") for ev in rcpts if ev.get("rejected")],
            facts["rejected"],
            "envrcpt: the unknown user, and only it, marked rejected")
    c.equal([ev["args"][0] for ev in rcpts
             if ev["args"][0] in facts.get("blocked", [])], [],
            "envrcpt: a recipient the access database refused never "
            "reaches the milter")
    c.equal([ev.get("rejection") for ev in rcpts if ev.get("rejected")],
            [{"status": "5.1.1", "text": "550 5.1.1 User unknown"}] *
            len(facts["rejected"]),
            "envrcpt: the rejection as Sendmail gave it, whole reply and all")
    want = []
    for ev in rcpts:
        addr = ev["args"][0][1:-1]
        user, _, domain = addr.partition("@")
        if ev.get("rejected"):
            want.append(["error", "5.1.1", "550 5.1.1 User unknown"])
        elif domain == MYHOSTNAME:
            # A local recipient: {rcpt_host} sent, and empty.
            want.append(["local", "", user])
        else:
            want.append(["esmtp", domain + ".", addr])
    got = [[ev.get("macros", {}).get(n) for n in RCPT_MACROS]
           for ev in rcpts]
    c.equal(got, want, "envrcpt: {rcpt_mailer} {rcpt_host} {rcpt_addr} "
            "of each recipient (local: empty host; unknown user: error, "
            "5.1.1, the reply)")
    if mode != "request":
        c.equal([list(ev.get("macros", {})) for ev in rcpts],
                [RCPT_MACROS] * len(rcpts),
                "envrcpt: exactly Sendmail's default {rcpt_*} each")


def check_message(c, by_stage, facts, mode):
    reply = facts["replies"].get("data", "")
    c.check(reply.startswith("250 ") and "Message accepted" in reply,
            "the message accepted after DATA", reply, "250 ... accepted")

    def macros(stage):
        return by_stage.get(stage, [{}])[0].get("macros", {})

    if mode == "request":
        c.check(macros("data").get("i") == facts["qid"],
                "data: i sent with DATA, as asked for",
                macros("data").get("i"), facts["qid"])
        c.equal(macros("eom").get("{msg_id}"), "<sendmail-e2e@example.org>",
                "eom: {msg_id} is the message's Message-ID")
    else:
        c.equal(macros("data"), {}, "data: no macros (empty default list)")
        c.equal(macros("eoh"), {}, "eoh: no macros (empty default list)")
        c.equal(macros("eom"), {"{msg_id}": "<sendmail-e2e@example.org>"},
                "eom: only {msg_id}, the message's Message-ID")

    sent, body = split_message(facts["message"].encode("latin-1"))
    # Sendmail strips a NUL inside a header (Postfix cuts the value there).
    sent = [(n, v.replace("\0", "")) for n, v in sent]
    got = [(ev.get("name"), ev.get("value"))
           for ev in by_stage.get("header", [])]
    c.equal(got, sent, "header: exactly the %d headers sent, in order, "
            "values byte for byte (Sendmail adds none it shows)" % len(sent))
    c.equal([v for n, v in got if n == "X-Tight"],
            ["no space after the colon"],
            "header: no space after the colon, none added")
    c.equal([v for n, v in got if n == "X-Nul"], [" beforeafter"],
            "header: a NUL inside a value stripped by Sendmail")
    c.equal([v for n, v in got if n == "X-Folded"],
            [" first part,\n\tsecond part,\n third part"],
            "header: folded lines joined with \\n, their white space kept")
    data = b"".join(to_bytes(ev.get("chunk", ""))
                    for ev in by_stage.get("body", []))
    c.equal(data, body, "body: the bytes sent, CRLF ends, dot unstuffed")


def check_session(c, events, facts, mode, daemon, wire):
    by_stage = {}
    for ev in events:
        by_stage.setdefault(ev["stage"], []).append(ev)
    first = by_stage.get("negotiate", [{}])[0]

    if facts["scenario"] == "message":
        want = ["negotiate", "connect", "helo", "unknown", "envfrom"]
        want += ["envrcpt"] * 3
        want += ["data", "header...", "eoh", "body...", "eom", "close"]
    else:
        # Both modes show the same: the abort on RSET comes from Sendmail
        # or from libmilter itself (at the second MAIL), and the one at
        # QUIT in the middle of the second transaction from libmilter.
        want = ["negotiate", "connect", "helo", "envfrom", "envrcpt",
                "abort", "envfrom", "envrcpt", "abort", "close"]
    c.equal(stage_outline(events), want, "stages in order, close last")

    c.equal(first.get("version"), 6, "negotiate: protocol version 6")
    c.equal((first.get("offered", {}).get("actions"),
             first.get("offered", {}).get("steps")),
            (ALL_ACTIONS, ALL_STEPS),
            "negotiate: Sendmail offers actions 0x1ff, steps 0x1fffff")
    answered = first.get("answered", {})
    nr = [f for f in answered.get("step_flags", []) if "_NR_" in f]
    if mode == "replies":
        c.equal(nr, [], "negotiate: inspect asks for no no-reply step")
    else:
        c.check("SMFIP_NR_MAIL" in nr,
                "negotiate: inspect asks for no reply at MAIL", nr,
                "... SMFIP_NR_MAIL ...")
    c.equal(answered.get("actions"),
            SMFIF_SETSYMLIST if mode == "request" else 0,
            "negotiate: the actions inspect asks for")

    check_connect(c, by_stage.get("connect", [{}])[0], facts, mode,
                  daemon)
    c.equal([ev.get("name") for ev in by_stage.get("helo", [])],
            [facts["helo"]], "helo: name as sent")
    if mode != "request":
        c.equal(by_stage.get("helo", [{}])[0].get("macros"), {},
                "helo: no macros (Sendmail's packet is empty without TLS)")
    if "unknown" in facts:
        # Unlike Postfix, Sendmail passes the whole line.
        c.equal([ev.get("command") for ev in by_stage.get("unknown", [])],
                [facts["unknown"]], "unknown: the whole command line")
        c.check(facts["replies"].get("unknown", "").startswith("500 "),
                "unknown: Sendmail answered 500",
                facts["replies"].get("unknown"), "500 ...")
    check_envelope(c, by_stage, facts, mode)
    if facts["scenario"] == "message":
        check_message(c, by_stage, facts, mode)
    else:
        # Who sent the abort: Sendmail only to a filter that answered
        # MAIL; otherwise it is libmilter's own.
        cmds = "".join(wire["commands"]) if wire else ""
        rset = cmds[cmds.find("R"):cmds.rfind("M")] if wire else ""
        if mode == "replies":
            c.check("A" in rset, "Sendmail sent an abort on RSET "
                    "(inspect answered MAIL)", cmds, "...R...A...M...")
        else:
            c.check(wire is not None and "A" not in cmds,
                    "Sendmail sent no abort at all (no reply at MAIL): "
                    "libmilter's own", cmds, "no A")
        mails = by_stage.get("envfrom", [])
        c.check(len(mails) == 2 and mails[0]["macros"].get("i") !=
                mails[1]["macros"].get("i"),
                "envfrom: each transaction its own queue id i")
    c.equal(len(by_stage.get("close", [])), 1, "close: one per session")


def main():
    mode, report, debuglog, name, daemon = sys.argv[1:6]
    c = Checks("[%s]" % name)
    sessions = read_report(report, c)
    wire = read_wire(debuglog).get(name, [])
    check_wire(c, sessions, wire)
    ordered = sorted(sessions)
    for path in sys.argv[6:]:
        with open(path) as f:
            facts = json.load(f)
        c = Checks("[%s %s]" % (name, facts["helo"]))
        if not c.check("error" not in facts, "the session went through "
                       "Sendmail", facts.get("error"), "no error"):
            continue
        found = [n for n in ordered
                 if any(ev["stage"] == "helo" and
                        ev.get("name") == facts["helo"]
                        for ev in sessions[n])]
        if not c.equal(len(found), 1, "one session with HELO %s"
                       % facts["helo"]):
            continue
        i = ordered.index(found[0])
        check_session(c, sessions[found[0]], facts, mode, daemon,
                      wire[i] if i < len(wire) else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
