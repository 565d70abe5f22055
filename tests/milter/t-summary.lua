-- inspect-args: --summary
-- The summary line at close (--summary): the client, the last helo name
-- (EHLO again, as after STARTTLS), then each transaction with its sender,
-- recipients (the rejected one marked), header count, body size and how
-- it ended: an abort, an eom, and one cut short by the client's quit.
-- Values are escaped as everywhere else.  Every event is still shown.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "first.example")
	step.helo(conn, "client\27[2J.example")
	step.mailfrom(conn, "<first@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "aborted")
	step.eoh(conn)
	step.bodystring(conn, "Half a body\r\n")
	assert(mt.abort(conn) == nil)

	step.mailfrom(conn, "<second@example.org>", "SIZE=100")
	step.rcptto(conn, "<one@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.1.1", "{rcpt_addr}", "User unknown")
	step.rcptto(conn, "<nobody@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp")
	step.rcptto(conn, "<two@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "delivered")
	step.header(conn, "To", "one@example.net")
	step.eoh(conn)
	step.bodystring(conn, "A whole body\r\n")
	step.bodystring(conn, "in two chunks\r\n")
	step.eom(conn)

	step.mailfrom(conn, "<\"third\"@example.org>")
	mt.disconnect(conn)
end)
