-- Two messages on one connection: the second MAIL follows the first eom
-- directly, and both messages belong to session 1 with every stage shown
-- for each.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	for n = 1, 2 do
		step.mailfrom(conn, "<sender" .. n .. "@example.org>")
		step.rcptto(conn, "<rcpt" .. n .. "@example.net>")
		step.data(conn)
		step.header(conn, "Subject", "message " .. n)
		step.eoh(conn)
		step.bodystring(conn, "Body of message " .. n .. ".\r\n")
		step.eom(conn)
	end
	mt.disconnect(conn)
end)
