-- An IPv6 client: the address is sent uncompressed and in capitals, and
-- connect shows it in the usual short form as inet6:PORT@[ADDRESS].  The
-- host is what an MTA sends when the reverse lookup fails.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{client_addr}",
	    "IPv6:2001:db8::25")
	step.conninfo(conn, "[2001:db8::25]", "2001:DB8:0:0:0:0:0:25")
	step.helo(conn, "[IPv6:2001:db8::25]")
	mt.disconnect(conn)
end)
