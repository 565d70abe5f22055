-- --quiet: a whole session with every stage, macros, an aborted message
-- and an unknown command, and inspect prints no event at all, while it
-- still lets every step through.
-- inspect-args: --quiet

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "quiet")
	step.eoh(conn)
	step.bodystring(conn, "Not shown.\r\n")
	step.eom(conn)
	step.mailfrom(conn, "<sender@example.org>")
	assert(mt.abort(conn) == nil)
	step.unknown(conn, "XYZZY")
	mt.disconnect(conn)
end)
