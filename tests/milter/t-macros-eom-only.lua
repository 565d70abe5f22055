-- Sendmail's default lists send nothing with DATA and EOH, and {msg_id}
-- with end of message: the eom event shows exactly the set sent with it,
-- in each transaction, and data and eoh show none.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "_",
	    "client.example [192.0.2.1]")
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "i", "4ABC123", "{mail_addr}",
	    "first@example.org")
	step.mailfrom(conn, "<first@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "one@example.net")
	step.rcptto(conn, "<one@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "first")
	step.eoh(conn)
	step.bodystring(conn, "first\r\n")
	mt.macro(conn, SMFIC_BODYEOB, "{msg_id}", "<first@example.org>")
	step.eom(conn)

	mt.macro(conn, SMFIC_MAIL, "i", "4ABC124", "{mail_addr}",
	    "second@example.org")
	step.mailfrom(conn, "<second@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "two@example.net")
	step.rcptto(conn, "<two@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "second")
	step.eoh(conn)
	step.bodystring(conn, "second\r\n")
	mt.macro(conn, SMFIC_BODYEOB, "{msg_id}", "<second@example.org>",
	    "i", "4ABC124")
	step.eom(conn)
	mt.disconnect(conn)
end)
