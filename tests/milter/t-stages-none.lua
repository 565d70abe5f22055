-- inspect-args: --stages none
-- stderr: inspect: nothing is reported: --stages leaves no stage, and there is no summary line (--summary)
-- --stages none without --summary (not on a terminal): nothing at all is
-- reported, though every stage is answered; a warning says so at start-up.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.eom(conn)
	mt.disconnect(conn)
end)
