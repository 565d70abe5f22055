-- Every milter stage in one session, over an inet socket: negotiate,
-- connect, helo, envfrom, envrcpt, data, header, eoh, body and eom for a
-- first message; a second message that is aborted after its recipient;
-- an unknown command; and close when the client quits.
-- socket: inet
-- inspect-args: --no-reply auto

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "every stage")
	step.eoh(conn)
	step.bodystring(conn, "Hello.\r\n")
	step.eom(conn)

	step.mailfrom(conn, "<second@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	assert(mt.abort(conn) == nil)

	step.unknown(conn, "XYZZY")
	mt.disconnect(conn)
end)
