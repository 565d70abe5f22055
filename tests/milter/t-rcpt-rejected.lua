-- Rejected recipients.  RCPT_REJ is offered (miltertest offers every
-- step) and inspect takes it, so the MTA also passes recipients it
-- rejected, with {rcpt_mailer} "error", the status in {rcpt_host} and
-- the reply in {rcpt_addr}: that envrcpt shows "rejected:" with the
-- status and the text as the MTA sent them, escaped, and the accepted
-- recipients around it do not.  Postfix sends the reply without its
-- code, status and address, Sendmail the whole reply; an MTA that sends
-- neither gets "(no status) (no text)".
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
	-- Postfix 3.7, as observed.
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.1.1", "{rcpt_addr}", "Recipient address rejected: " ..
	    "User unknown in local recipient table")
	step.rcptto(conn, "<nobody@example.net>")
	-- Sendmail: the reply with its code, and bytes to escape.
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error", "{rcpt_host}",
	    "5.1.1", "{rcpt_addr}",
	    "550 5.1.1 <\27[31mgone@example.net>... User \"unknown\"")
	step.rcptto(conn, "<\27[31mgone@example.net>")
	-- Neither status nor text.
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error")
	step.rcptto(conn, "<bare@example.net>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "smtp", "{rcpt_host}",
	    "relay.example", "{rcpt_addr}", "other@example.com")
	step.rcptto(conn, "<other@example.com>")
	mt.disconnect(conn)
end)
