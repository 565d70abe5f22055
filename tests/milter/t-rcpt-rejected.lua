-- A rejected recipient.  RCPT_REJ is offered (miltertest offers every
-- step) and inspect takes it, so the MTA also passes recipients it
-- rejected, with {rcpt_mailer} "error" (and the reply in {rcpt_host} and
-- {rcpt_addr}, as Postfix does): that envrcpt says "rejected: yes", and
-- the accepted recipients around it do not.
-- The client quits inside the transaction, which libmilter reports as
-- abort before close.

dofile(lib)

run(function()
	local conn = connect()

	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "local", "{rcpt_host}",
	    "mx.example", "{rcpt_addr}", "good@example.net")
	step.rcptto(conn, "<good@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.1.1", "{rcpt_addr}", "User unknown in local recipient table")
	step.rcptto(conn, "<nobody@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}",
	    "relay.example", "{rcpt_addr}", "other@example.com")
	step.rcptto(conn, "<other@example.com>")
	mt.disconnect(conn)
end)
