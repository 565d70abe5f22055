-- A client of unknown family (SMFIA_UNKNOWN, as Postfix sends for a
-- client that is not on TCP): libmilter passes no address, and connect
-- shows address "unknown".

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "localhost", "unspec")
	step.helo(conn, "localhost")
	mt.disconnect(conn)
end)
