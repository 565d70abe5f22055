-- One message through every stage, for the installed inspect.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "package test")
	step.eoh(conn)
	step.bodystring(conn, "Hello from the package test.\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
