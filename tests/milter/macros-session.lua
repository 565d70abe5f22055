-- macros-session.lua -- the session t-macros-sent, t-macros-all and
-- t-macros-lookup send, each to an inspect told otherwise what to show.
--
-- Each stage brings macros of its own: names in no list ({x_site}, and
-- client_addr without braces), a second HELO and a third RCPT with no
-- packet, two RCPTs with different values, {rcpt_addr} sent again with
-- DATA (as Postfix does with --request-macros) and i sent again
-- unchanged with EOH and EOM, and a packet sent with a header, which
-- libmilter drops.

run(function()
	local conn = connect()

	mt.macro(conn, SMFIC_CONNECT, "j", "mx.example", "{daemon_name}",
	    "mx", "client_addr", "192.0.2.1", "{x_site}", "berlin")
	step.conninfo(conn, "client.example", "192.0.2.1")
	mt.macro(conn, SMFIC_HELO, "{tls_version}", "TLSv1.3")
	step.helo(conn, "client.example")
	step.helo(conn, "again.example")
	mt.macro(conn, SMFIC_MAIL, "i", "4ABC", "{mail_addr}", "a@example.org")
	step.mailfrom(conn, "<a@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "one@example.net",
	    "{rcpt_mailer}", "local")
	step.rcptto(conn, "<one@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_addr}", "two@example.net")
	step.rcptto(conn, "<two@example.net>")
	step.rcptto(conn, "<three@example.net>")
	mt.macro(conn, SMFIC_DATA, "i", "4ABC", "{rcpt_addr}",
	    "one@example.net")
	step.data(conn)
	mt.macro(conn, string.byte("L"), "{x_header}", "dropped")
	step.header(conn, "Subject", "hello")
	mt.macro(conn, SMFIC_EOH, "i", "4ABC")
	step.eoh(conn)
	step.bodystring(conn, "hello\r\n")
	mt.macro(conn, SMFIC_BODYEOB, "i", "4ABC", "{msg_id}", "<m@example>")
	step.eom(conn)
	mt.disconnect(conn)
end)
