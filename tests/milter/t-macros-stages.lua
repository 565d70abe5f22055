-- Macros at every stage: each event shows the set sent with its own
-- command and nothing else (connect j, helo {tls_version}, mail
-- {mail_addr}, rcpt {rcpt_addr}, data i, eoh {bodytype}, eom {msg_id});
-- a second RCPT shows its own set; in a second transaction only the MAIL
-- that brings a set shows one; header, body and close show none.

dofile(lib)

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example")
	step.conninfo(conn, "client.example", "192.0.2.1")
	mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3")
	step.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "{mail_addr}", "first@example.org")
	step.mailfrom(conn, "<first@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "one@example.net",
	    "{rcpt_mailer}", "local")
	step.rcptto(conn, "<one@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "two@example.net")
	step.rcptto(conn, "<two@example.net>")
	mt.macro(conn, SMFIC_DATA, "i", "4ABC123")
	step.data(conn)
	step.header(conn, "Subject", "first")
	mt.macro(conn, SMFIC_EOH, "{bodytype}", "8BITMIME")
	step.eoh(conn)
	step.bodystring(conn, "first\r\n")
	mt.macro(conn, SMFIC_BODYEOB, "{msg_id}", "<first@example.org>")
	step.eom(conn)

	mt.macro(conn, SMFIC_MAIL, "{mail_host}", "example.org")
	step.mailfrom(conn, "<second@example.org>")
	step.rcptto(conn, "<three@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "second")
	step.eoh(conn)
	step.bodystring(conn, "second\r\n")
	step.eom(conn)
	mt.disconnect(conn)
end)
