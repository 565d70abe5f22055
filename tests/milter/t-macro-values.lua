-- Macro values.  An empty one (Postfix sends {mail_addr} so for MAIL
-- FROM:<>) is shown as "", unlike a macro that was not sent, which is not
-- shown at all.  A value with a TAB, quotes, a backslash, ESC, a byte
-- that is not UTF-8 and a bidirectional control is escaped like any other
-- string.
-- The client quits inside the transaction, which libmilter reports as
-- abort before close.

dofile(lib)

run(function()
	local conn = connect()
	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{daemon_addr}", "",
	    "{daemon_name}", "tab\there \"q\" \\ \27[0m \xff \u{202e}")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "", "{mail_mailer}", "smtp")
	step.mailfrom(conn, "<>")
	mt.disconnect(conn)
end)
