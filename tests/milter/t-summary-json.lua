-- inspect-args: --format json --stages connect,eom --summary
-- summaries: 1
-- The summary in JSON: an event like the others ("session", "stage":
-- "summary", "time") with the same fields as keys, the rejected
-- recipient marked, escaped as JSON, the client's IP, the queue id the
-- MTA gave at DATA, and only the stages asked for besides.  (miltertest
-- sends a HELO of its own when a case has none.)

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.1.1", "{rcpt_addr}", "User unknown")
	step.rcptto(conn, "<no\1body@example.net>")
	mt.macro(conn, SMFIC_DATA, "i", "4XyZ1a2b3C")
	step.data(conn)
	step.header(conn, "Subject", "json")
	step.eoh(conn)
	step.bodystring(conn, "Body\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
