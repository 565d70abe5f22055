-- Negotiation with MTAs that offer less than miltertest's default.  The
-- offered steps are the MTA's plus the no-reply bits libmilter can fake
-- (0xff080); inspect answers no actions, and of the steps only RCPT_REJ
-- and HDR_LEADSPC, each only if offered.
-- Session 1 offers SKIP and RCPT_REJ but no HDR_LEADSPC: no leading space
-- is asked for, so a header value comes as sent, with no space added.
-- Session 2 offers SKIP only: a recipient with {rcpt_mailer} "error" is
-- not shown as rejected, since rejected recipients were not negotiated.
-- Both quit inside the transaction, which libmilter reports as abort.

dofile(lib)

run(function()
	local conn = connect()
	negotiate(conn, SMFIP_SKIP | SMFIP_RCPT_REJ,
	    SMFIF_ADDHDRS | SMFIF_CHGHDRS)
	assert(not mt.test_option(conn, SMFIP_HDR_LEADSPC))
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	step.rcptto(conn, "<rcpt@example.net>")
	step.data(conn)
	step.header(conn, "Subject", "no space added")
	step.header(conn, "X-Indented", "  two spaces of its own")
	mt.disconnect(conn)

	conn = connect()
	negotiate(conn, SMFIP_SKIP, SMFIF_ADDHDRS)
	step.conninfo(conn, "client.example", "192.0.2.1")
	step.helo(conn, "client.example")
	step.mailfrom(conn, "<sender@example.org>")
	mt.macro(conn, SMFIC_RCPT, "{rcpt_mailer}", "error")
	step.rcptto(conn, "<nobody@example.net>")
	mt.disconnect(conn)
end)
