-- An aborted message (the MTA's RSET in the middle of the body): abort
-- is shown and eom is not, and the macros stay as they were (ABORT clears
-- none).  The next message on the connection then runs to its eom.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "first@example.org")
	step.mailfrom(conn, "<first@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "aborted")
	step.eoh(conn)
	step.bodystring(conn, "Half a body\r\n")
	assert(mt.abort(conn) == nil)

	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "second@example.org")
	step.mailfrom(conn, "<second@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "delivered")
	step.eoh(conn)
	step.bodystring(conn, "A whole body\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
