-- An IPv4 client: connect shows the host name as sent and the address as
-- inet:PORT@[ADDRESS] (miltertest always sends port 12345), together
-- with the connect macros.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "_",
	    "client.example [192.0.2.1]", "{client_addr}", "192.0.2.1")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.disconnect(conn)
end)
