-- Unknown SMTP commands, before and after HELO: the command is shown
-- whole (libmilter passes what the MTA sent; Postfix sends only the verb),
-- escaped like any other string, with the macros set at that point.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.unknown(conn, "XYZZY")
	step.helo(conn, "client.example")
	step.unknown(conn, "FOO bar \"baz\"\tqux")
	mt.disconnect(conn)
end)
